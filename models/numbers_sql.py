"""SQL that lives in the database for the numbers panel (used by migration 0006 and the tests).

``number_stat`` (per day) and ``number_stat_month`` (per month, so long periods read few rows) are
kept current by three statement-level triggers on ``phone_number`` with
transition tables: one INSERT of a million rows (an import) or one UPDATE of 500 000 (a bulk status
change) costs one GROUP BY over the changed rows, not a trigger call per row. Every path that writes
numbers — the UI, the API, jobs, COPY, psql — is counted the same way. The day is the Moscow date of
``status_changed_at`` (when a number reached its status; for new numbers, when they arrived).
"""

KEYS = "project_id, provider_id, status_id, day"
MONTH_KEYS = "project_id, provider_id, status_id, month"
_GROUP = """SELECT coalesce(project_id, 0) AS project_id, coalesce(provider_id, 0) AS provider_id, status_id,
                   (status_changed_at AT TIME ZONE 'Europe/Moscow')::date AS day, count(*) AS c
            FROM {table} GROUP BY 1, 2, 3, 4"""

def _statement(table: str, keys: str, day: str, parts: list[str]) -> str:
    group = (f"SELECT coalesce(project_id, 0) AS project_id, coalesce(provider_id, 0) AS provider_id, status_id, "
             f"{day} AS d, count(*) AS c FROM {{rows}} GROUP BY 1, 2, 3, 4")
    union = "\n            UNION ALL\n            ".join(
        group.format(rows=rows) if sign == "+" else f"SELECT project_id, provider_id, status_id, d, -c AS c FROM ({group.format(rows=rows)}) o"
        for sign, rows in parts)
    return f"""
        INSERT INTO {table} AS s ({keys}, n)
        SELECT project_id, provider_id, status_id, d, sum(c) FROM (
            {union}
        ) x GROUP BY 1, 2, 3, 4 HAVING sum(c) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT ({keys}) DO UPDATE SET n = s.n + EXCLUDED.n;"""


DAY = "(status_changed_at AT TIME ZONE 'Europe/Moscow')::date"
MONTH = f"date_trunc('month', {DAY})::date"


def _branch(parts: list[tuple[str, str]]) -> str:
    return _statement("number_stat", KEYS, DAY, parts) + _statement("number_stat_month", MONTH_KEYS, MONTH, parts)


STAT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION number_stat_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_branch([("+", "new_rows")])}
    ELSIF TG_OP = 'DELETE' THEN{_branch([("-", "old_rows")])}
    ELSE{_branch([("+", "new_rows"), ("-", "old_rows")])}
    END IF;
    RETURN NULL;
END $$;
"""

STAT_TRIGGERS_UP = [
    STAT_FUNCTION,
    "CREATE TRIGGER phone_number_stat_ins AFTER INSERT ON phone_number REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION number_stat_apply()",
    "CREATE TRIGGER phone_number_stat_upd AFTER UPDATE ON phone_number REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION number_stat_apply()",
    "CREATE TRIGGER phone_number_stat_del AFTER DELETE ON phone_number REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION number_stat_apply()",
]

STAT_TRIGGERS_DOWN = [
    "DROP TRIGGER IF EXISTS phone_number_stat_ins ON phone_number",
    "DROP TRIGGER IF EXISTS phone_number_stat_upd ON phone_number",
    "DROP TRIGGER IF EXISTS phone_number_stat_del ON phone_number",
    "DROP FUNCTION IF EXISTS number_stat_apply()",
]

#: Recompute both aggregate tables from ``phone_number`` (after a load that bypassed the triggers).
REBUILD_STATS = [
    "TRUNCATE number_stat, number_stat_month",
    f"""INSERT INTO number_stat ({KEYS}, n)
        SELECT coalesce(project_id, 0), coalesce(provider_id, 0), status_id, {DAY}, count(*) FROM phone_number GROUP BY 1, 2, 3, 4""",
    f"""INSERT INTO number_stat_month ({MONTH_KEYS}, n)
        SELECT project_id, provider_id, status_id, date_trunc('month', day)::date, sum(n) FROM number_stat GROUP BY 1, 2, 3, 4""",
]

#: The statuses a new installation starts with (editable in the UI afterwards).
DEFAULT_STATUSES = """
INSERT INTO number_status (code, name, name_en, kind, color, position) VALUES
    ('new', 'Новый', 'New', 'new', 'gray', 10),
    ('in_work', 'В работе', 'In work', 'work', 'blue', 20),
    ('callback', 'Перезвонить', 'Call back', 'work', 'amber', 30),
    ('success', 'Успешно', 'Success', 'success', 'green', 40),
    ('refusal', 'Отказ', 'Refusal', 'refusal', 'red', 50),
    ('no_answer', 'Недозвон', 'No answer', 'no_answer', 'orange', 60),
    ('bad_number', 'Неверный номер', 'Wrong number', 'other', 'gray', 70)
ON CONFLICT (code) DO NOTHING
"""
