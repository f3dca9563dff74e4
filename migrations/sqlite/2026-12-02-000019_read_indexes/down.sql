DROP INDEX reactions_object;
DROP INDEX objects_author;
DROP INDEX objects_in_reply_to;
