SELECT id FROM onemap.case_attachments WHERE case_fid = :fid AND id = ANY(:ids::bigint[])
