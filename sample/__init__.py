"""The sample Changsha city: real open data plus clearly labelled generated data (示例数据).

:func:`sample.loader.load_sample` loads it through the versioned write path,
in one transaction, once. Everything generated is deterministic (fixed seed), so a
small ``bbox`` load holds exactly the features the full load has in that box.
"""
