
LEFT JOIN LATERAL (
  -- 地面高程 at each end of the segment: the points layer (<points>) row whose 物探点号 the segment
  -- names, else the nearest point with a ground elevation within <reach> degrees (≈ 50 m) of that
  -- end. gs_near / ge_near say which (recorded as elev_source).
  SELECT p.ground_elev_m FROM {points} p
  WHERE p.point_no = t.start_point AND p.ground_elev_m IS NOT NULL AND {point_where}
  LIMIT 1
) gs ON true
LEFT JOIN LATERAL (
  SELECT p.ground_elev_m FROM {points} p
  WHERE p.point_no = t.end_point AND p.ground_elev_m IS NOT NULL AND {point_where}
  LIMIT 1
) ge ON true
LEFT JOIN LATERAL (
  SELECT p.ground_elev_m FROM {points} p
  WHERE gs.ground_elev_m IS NULL AND p.ground_elev_m IS NOT NULL AND {point_where}
    AND ST_DWithin(p.geom, ST_StartPoint(t.geom), {reach})
  ORDER BY p.geom <-> ST_StartPoint(t.geom)
  LIMIT 1
) gs_near ON true
LEFT JOIN LATERAL (
  SELECT p.ground_elev_m FROM {points} p
  WHERE ge.ground_elev_m IS NULL AND p.ground_elev_m IS NOT NULL AND {point_where}
    AND ST_DWithin(p.geom, ST_EndPoint(t.geom), {reach})
  ORDER BY p.geom <-> ST_EndPoint(t.geom)
  LIMIT 1
) ge_near ON true
