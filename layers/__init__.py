"""The layer registry and everything that touches the feature tables.

Registry, schemas, migrations, query builders and the versioned write path used by
both the API and the batch importers.
"""
