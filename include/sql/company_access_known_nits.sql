-- Every company in the registry, active or not.
SELECT nit FROM companies
