"""Query builders for the OGC API: bbox, datetime, CQL2, sorting, paging, counts and CRS output.

Everything here turns request parameters into SQL fragments with bound ``$n``
parameters (:class:`layers.sql.Params`) and identifiers the registry vouched for.
"""
