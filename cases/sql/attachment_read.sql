SELECT bytes, media_type, sha256 FROM onemap.case_attachments WHERE id = :aid AND case_fid = :fid
