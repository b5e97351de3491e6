-- The next number of the day (1, 2, …); the row lock on the day serialises concurrent reports.
INSERT INTO onemap.case_numbers AS n (day, last) VALUES (:day, 1)
ON CONFLICT (day) DO UPDATE SET last = n.last + 1
RETURNING last
