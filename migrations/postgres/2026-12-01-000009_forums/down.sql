DROP TABLE forum_bans;
DROP TABLE threads;
DROP TABLE forums;
