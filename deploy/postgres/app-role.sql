-- The application's database role: reads and writes rows, changes no schema.
--
-- Migrations run as the owner of the tables (the role that runs this file); the app, the workers,
-- the scheduler and the poller connect as the role made here, which may SELECT, INSERT, UPDATE and
-- DELETE rows and use sequences, and nothing else: no CREATE, ALTER, DROP, TRUNCATE, no new
-- schema, no change to alembic_version. An injected statement in the app cannot change the schema.
--
-- Run it as the owner, in the app's database, with two settings:
--   pult.app_role      the role's name (e.g. pult_app)
--   pult.app_password  its password (empty: left as it is)
-- e.g. psql "$OWNER_URL" -v ON_ERROR_STOP=1 \
--        -c "SELECT set_config('pult.app_role', 'pult_app', false), set_config('pult.app_password', 'secret', false)" \
--        -f deploy/postgres/app-role.sql
-- (deploy/postgres/initdb/10-app-role.sh does this on a new docker-compose database). It is
-- idempotent: run it again after a restore, or on a database created before this file existed.
-- Tables that later migrations create are covered by the default privileges below.

DO $pult$
DECLARE
    app   text := current_setting('pult.app_role');
    pw    text := coalesce(current_setting('pult.app_password', true), '');
    owner text := current_user;
    db    text := current_database();
BEGIN
    IF app IS NULL OR app = '' THEN
        RAISE EXCEPTION 'set pult.app_role first';
    END IF;
    IF app = owner THEN
        RAISE EXCEPTION 'the app role (%) must not be the owner that runs the migrations', app;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', app);  -- no superuser, CREATEDB, CREATEROLE ... by default
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = app
               AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role % may create databases or roles, replicate or bypass security: it cannot be the app role', app;
    END IF;
    IF pg_has_role(app, owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role % is a member of the owner %: it would inherit the right to change the schema', app, owner;
    END IF;
    IF pw <> '' THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', app, pw);
    END IF;

    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', db, app);
    EXECUTE format('REVOKE CREATE ON DATABASE %I FROM %I, PUBLIC', db, app);
    -- PostgreSQL before 15 let everyone create in the public schema
    EXECUTE 'REVOKE CREATE ON SCHEMA public FROM PUBLIC';
    EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', app);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app);

    -- the tables and sequences that exist now ...
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', app);
    EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM %I', app);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %I', app);
    -- ... and those the owner's later migrations create
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', owner, app);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I', owner, app);

    -- which migrations ran is the owner's to say
    IF to_regclass('public.alembic_version') IS NOT NULL THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON public.alembic_version FROM %I', app);
    END IF;
END
$pult$;
