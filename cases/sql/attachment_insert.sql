INSERT INTO onemap.case_attachments (case_fid, sha256, media_type, bytes, size, width, height, taken_lon, taken_lat,
                                     uploaded_by)
VALUES (:fid, :sha256, :media_type, :bytes, :size, :width, :height, :lon, :lat, :actor)
RETURNING id
