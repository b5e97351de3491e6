-- Features of one layer by id, as of the request's instant, with every property (for outputs).
SELECT {columns} FROM {table} WHERE fid = ANY({fids}) AND {selection} ORDER BY fid
