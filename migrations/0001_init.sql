-- Conference store schema. Plain SQLite, applied by the Node store and by `wrangler d1 migrations`.
-- Keys (URIs, XCON-USERIDs) are stored lower case, so equality needs no COLLATE NOCASE.

-- Blueprints, conferences and sidebars, with their canonical XML documents.
CREATE TABLE conference_objects (
  uri TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('blueprint', 'conference', 'sidebar-by-val', 'sidebar-by-ref')),
  version INTEGER NOT NULL,
  parent_uri TEXT,
  cloned_from TEXT,
  owner TEXT NOT NULL,
  password TEXT,
  connector TEXT,
  backend_id TEXT,
  join_uri TEXT,
  document TEXT NOT NULL,
  public_document TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Listing sidebars of a conference, newest first.
CREATE INDEX conference_objects_parent ON conference_objects (parent_uri, created_at);

-- Listing and counting by kind without reading documents.
CREATE INDEX conference_objects_kind ON conference_objects (kind, created_at);

-- One row per (object, user, role): a user may hold several roles in one conference.
CREATE TABLE conference_members (
  object_uri TEXT NOT NULL REFERENCES conference_objects (uri) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY (object_uri, user_id, role)
);

-- A user's conferences are found through this index, never by scanning documents.
CREATE INDEX conference_members_user ON conference_members (user_id, object_uri);

-- XCON-USERIDs the gateway allocated, keyed by the signalling URI they were made for.
CREATE TABLE allocated_users (
  signalling_uri TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL
);

CREATE INDEX allocated_users_user ON allocated_users (user_id);
