-- The photos of a case (metadata only), oldest first.
SELECT id, sha256, media_type, size, width, height, uploaded_by, uploaded_at
FROM onemap.case_attachments WHERE case_fid = :fid ORDER BY id
