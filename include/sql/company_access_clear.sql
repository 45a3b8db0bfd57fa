-- An import replaces every grant (the file is the whole list).
DELETE FROM company_access
