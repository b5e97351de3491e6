-- The id of the feature whose key column has a value, as of the request.
SELECT fid FROM {table} WHERE {column} = {value} AND {selection} LIMIT 1
