DROP INDEX objects_remote_posts;
