DROP TABLE member_accounts;
