"""The change feed (更新系统): a layer's mutations in commit order, pulled by cursor, streamed as
Server-Sent Events, or pushed to webhooks (subscriptions) with signed, retried deliveries."""
