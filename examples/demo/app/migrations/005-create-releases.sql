-- Releases tagged by the post-deploy step, newest last.
CREATE TABLE releases (
  release TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  assets_manifest TEXT,
  tagged_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
