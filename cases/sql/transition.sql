-- The next state for an action, from the transitions table (raises OC409 / OC403; migration 0011_cases).
SELECT onemap.case_transition(:from_state, :action, :roles::text[])
