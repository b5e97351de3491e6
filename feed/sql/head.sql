-- The newest commit number the caller's snapshot sees (0: only history older than the feed).
-- Committed numbers form a prefix (migration 0012_feed), so everything up to it is visible.
SELECT coalesce(max(seq), 0) FROM onemap.feed_commits
