-- Counting the conferences a user owns (the per-user creation limit) without scanning every object:
-- the count reads this index alone. Plain SQLite, applied by the Node store and by `wrangler d1 migrations`.
CREATE INDEX IF NOT EXISTS conference_objects_owner ON conference_objects (owner, kind);
