
LEFT JOIN LATERAL (
  -- 地面高程 of the segment's start point, as delivered on the points layer (<points>).
  SELECT p.ground_elev_m FROM {points} p
  WHERE p.point_no = t.start_point AND p.ground_elev_m IS NOT NULL AND {point_where}
  LIMIT 1
) gs ON true
LEFT JOIN LATERAL (
  SELECT p.ground_elev_m FROM {points} p
  WHERE p.point_no = t.end_point AND p.ground_elev_m IS NOT NULL AND {point_where}
  LIMIT 1
) ge ON true
