"""One translation catalog for every label: Russian by default, English on request.

Keys are short identifiers (``"save"``, ``"stock.products"``); panels add theirs with
:func:`register`. Server-side messages use :func:`t`; Reflex components use
``app.core.ui.i18n.tr`` which switches live with the user's language.
"""

from __future__ import annotations

DEFAULT_LANG = "ru"
LANGS = ("ru", "en")

#: key -> (Russian, English)
CATALOG: dict[str, tuple[str, str]] = {
    "app.title": ("Пульт", "Pult"),
    "save": ("Сохранить", "Save"),
    "cancel": ("Отмена", "Cancel"),
    "create": ("Создать", "Create"),
    "edit": ("Изменить", "Edit"),
    "delete": ("Удалить", "Delete"),
    "restore": ("Восстановить", "Restore"),
    "back": ("Назад", "Back"),
    "search": ("Поиск", "Search"),
    "search.global": ("Поиск по всему…", "Search everything…"),
    "filters": ("Фильтры", "Filters"),
    "filters.reset": ("Сбросить", "Reset"),
    "filters.invalid": ("Фильтр «{field}»: {message}", "Filter “{field}”: {message}"),
    "columns": ("Колонки", "Columns"),
    "trash": ("Корзина", "Trash"),
    "any": ("Любой", "Any"),
    "yes": ("Да", "Yes"),
    "no": ("Нет", "No"),
    "from": ("от", "from"),
    "to": ("до", "to"),
    "page.first": ("В начало", "First"),
    "page.number": ("Страница", "Page"),
    "page.prev": ("Назад", "Previous"),
    "page.next": ("Вперёд", "Next"),
    "page.last": ("В конец", "Last"),
    "rows.total": ("Всего: {n}", "Total: {n}"),
    "rows.count_exact": ("Точное число", "Exact count"),
    "rows.selected": ("Выбрано: {n}", "Selected: {n}"),
    "rows.select_all_matching": ("Выбрать все {n} подходящих", "Select all {n} matching"),
    "rows.empty": ("Ничего не найдено", "Nothing found"),
    "rows.loading": ("Загрузка…", "Loading…"),
    "confirm.title": ("Подтвердите действие", "Please confirm"),
    "confirm.delete": ("Удалить запись? Это действие необратимо.", "Delete this record? This cannot be undone."),
    "confirm.soft_delete": ("Переместить в корзину?", "Move to trash?"),
    "confirm.action": ("Выполнить «{action}» для выбранных записей ({n})?", "Run “{action}” on the selected records ({n})?"),
    "confirm.action_one": ("Выполнить «{action}» для этой записи?", "Run “{action}” on this record?"),
    "confirm.ok": ("Подтвердить", "Confirm"),
    "unsaved.warning": ("Есть несохранённые изменения", "You have unsaved changes"),
    "unsaved.leave": ("Уйти без сохранения?", "Leave without saving?"),
    "saved": ("Сохранено", "Saved"),
    "created": ("Создано", "Created"),
    "deleted": ("Удалено", "Deleted"),
    "restored": ("Восстановлено", "Restored"),
    "done": ("Готово", "Done"),
    "details": ("Подробности", "Details"),
    "history": ("История", "History"),
    "login": ("Вход", "Sign in"),
    "login.username": ("Логин", "Username"),
    "login.password": ("Пароль", "Password"),
    "login.submit": ("Войти", "Sign in"),
    "logout": ("Выйти", "Sign out"),
    "login.bad": ("Неверный логин или пароль", "Wrong username or password"),
    "login.throttled": (
        "Слишком много попыток входа. Повторите через {minutes} мин.",
        "Too many sign-in attempts. Try again in {minutes} min.",
    ),
    "login.expired": ("Сессия истекла, войдите снова", "Your session has expired, please sign in again"),
    "register": ("Регистрация", "Create an account"),
    "register.submit": ("Зарегистрироваться", "Create account"),
    "register.have_account": ("Уже есть аккаунт? Войти", "Have an account? Sign in"),
    "register.password2": ("Пароль ещё раз", "Repeat the password"),
    "register.mismatch": ("Пароли не совпадают", "The passwords differ"),
    "auth.username_rules": (
        "3–64 символа: латинские буквы, цифры, точка, дефис, подчёркивание",
        "3–64 characters: Latin letters, digits, dot, dash, underscore",
    ),
    "action.register": ("регистрация", "registration"),
    "export": ("Экспорт", "Export"),
    "export.csv": ("Экспорт CSV", "Export CSV"),
    "export.xlsx": ("Экспорт XLSX", "Export XLSX"),
    "export.xlsx_too_big": ("В XLSX помещается не больше {max} строк (предел Excel) — сузьте фильтр или выгрузите CSV",
                            "XLSX holds at most {max} rows (Excel's limit): narrow the filter or export CSV"),
    "export.queued": ("Экспорт запущен — файл появится в уведомлениях", "Export started — the file will appear in notifications"),
    "jobs.kind.export": ("Экспорт", "Export"),
    "jobs.kind.action": ("Массовое действие", "Bulk action"),
    "jobs.action.progress": ("Записей: {done} из {total}", "Records: {done} of {total}"),
    "jobs.action.error": ("ошибка", "error"),
    "jobs.action.done": ("«{action}»: выполнено {done}, ошибок {failed}", "'{action}': {done} done, {failed} failed"),
    "jobs.action.queued": ("Действие запущено в фоне — прогресс на странице задач", "The action runs in the background: follow it on the Jobs page"),
    "bulk.too_many": ("Выбрано больше {n} записей — уточните фильтр", "More than {n} records selected: narrow the filter"),
    "jobs.export.running": ("Выгрузка строк", "Writing rows"),
    "jobs.export.rows": ("Строк: {n}", "Rows: {n}"),
    "jobs.export.done": ("Экспорт готов: {what}, строк: {n}", "Export ready: {what}, {n} rows"),
    "telegram.send": ("Отправка в Telegram", "Telegram message"),
    "telegram.bad_token": ("Токен бота вида 123456:ABC…", "A bot token looks like 123456:ABC…"),
    "telegram.bad_url": ("Адрес должен начинаться с http:// или https://", "The URL must start with http:// or https://"),
    "telegram.title": ("Telegram", "Telegram"),
    "telegram.token": ("Токен бота", "Bot token"),
    "telegram.api_url": ("Адрес Bot API", "Bot API address"),
    "telegram.api_url_help": ("Пусто — официальный сервер Telegram; для проверки можно указать локальную песочницу", "Empty means Telegram's own server; point it at the local sandbox to try things out"),
    "telegram.check": ("Проверить", "Check"),
    "telegram.send_test": ("Отправить себе тест", "Send myself a test"),
    "telegram.check_ok": ("Бот @{username} отвечает", "Bot @{username} answers"),
    "telegram.check_failed": ("Ошибка Telegram: {error}", "Telegram error: {error}"),
    "telegram.no_token": ("Сначала сохраните токен бота", "Save the bot token first"),
    "telegram.no_chat": ("У вашего пользователя не указан Telegram chat ID", "Your user has no Telegram chat ID"),
    "telegram.test_sent": ("Тестовое сообщение отправлено", "Test message sent"),
    "telegram.test_message": ("Проверка связи из Пульта", "A test message from Pult"),
    "dark_mode": ("Тёмная тема", "Dark mode"),
    "language": ("Язык", "Language"),
    "home": ("Главная", "Home"),
    "forbidden": ("Недостаточно прав", "Permission denied"),
    "forbidden.page": ("У вас нет доступа к этой странице.", "You do not have access to this page."),
    "not_found": ("Не найдено", "Not found"),
    "error.required": ("Обязательное поле", "This field is required"),
    "error.int": ("Введите целое число", "Enter a whole number"),
    "error.number": ("Введите число", "Enter a number"),
    "error.time": ("Время в формате ЧЧ:ММ", "Time as HH:MM"),
    "error.date": ("Введите дату ГГГГ-ММ-ДД", "Enter a date as YYYY-MM-DD"),
    "error.date_range": ("Дата от {min} до {max}", "A date from {min} to {max}"),
    "error.min": ("Не меньше {min}", "Must be at least {min}"),
    "error.max": ("Не больше {max}", "Must be at most {max}"),
    "error.max_length": ("Не длиннее {n} символов", "At most {n} characters"),
    "error.text_chars": ("Текст содержит недопустимые символы", "The text contains characters that cannot be stored"),
    "error.value": ("Неверное значение", "Invalid value"),
    "error.choice": ("Выберите значение из списка", "Choose a value from the list"),
    "error.relation": ("Выберите запись из списка", "Choose a record from the list"),
    "error.unique": ("Такое значение уже есть", "This value is already taken"),
    "error.phone": ("Неверный номер телефона", "Invalid phone number"),
    "error.form": ("Исправьте ошибки в форме", "Please fix the errors in the form"),
    "error.generic": ("Не удалось выполнить действие", "The action failed"),
    "error.body": ("Тело запроса не удалось прочитать как JSON", "The request body could not be read as JSON"),
    "error.method": ("Этот метод здесь не поддерживается", "This method is not allowed here"),
    "error.unavailable": ("Сервис временно недоступен, попробуйте через минуту", "The service is temporarily unavailable, please try again in a minute"),
    "audit": ("Журнал операций", "Operation log"),
    "audit.user": ("Пользователь", "User"),
    "audit.action": ("Действие", "Action"),
    "audit.entity": ("Объект", "Entity"),
    "audit.entity_id": ("ID объекта", "Entity ID"),
    "audit.diff": ("Изменения", "Changes"),
    "audit.source": ("Источник", "Source"),
    "audit.when": ("Когда", "When"),
    "users": ("Пользователи", "Users"),
    "roles": ("Роли", "Roles"),
    "roles.permissions": ("Права", "Permissions"),
    "admin": ("Администрирование", "Administration"),
    "notifications": ("Уведомления", "Notifications"),
    "no_notifications": ("Нет уведомлений", "No notifications"),
    "mark_all_read": ("Прочитать все", "Mark all read"),
    "field.id": ("ID", "ID"),
    "field.created_at": ("Создано", "Created"),
    "field.deleted_at": ("Удалено", "Deleted"),
    "field.username": ("Логин", "Username"),
    "field.full_name": ("Имя", "Full name"),
    "field.password": ("Пароль", "Password"),
    "field.role": ("Роль", "Role"),
    "field.is_active": ("Активен", "Active"),
    "field.telegram_chat_id": ("Telegram chat ID", "Telegram chat ID"),
    "field.name": ("Название", "Name"),
    "field.label": ("Подпись", "Label"),
    "field.permissions": ("Права", "Permissions"),
    "action.create": ("создание", "create"),
    "action.update": ("изменение", "update"),
    "action.delete": ("удаление", "delete"),
    "action.soft_delete": ("в корзину", "to trash"),
    "action.restore": ("восстановление", "restore"),
    "action.login": ("вход", "login"),
    "action.logout": ("выход", "logout"),
    "action.login_failed": ("неудачный вход", "failed login"),
    "role.admin": ("Администратор", "Administrator"),
    "role.manager": ("Менеджер", "Manager"),
    "role.user": ("Оператор", "Operator"),
    "self.delete": ("Нельзя удалить самого себя", "You cannot delete yourself"),
    "self.demote": ("Нельзя понизить собственную роль", "You cannot change your own role"),
}


def register(entries: dict[str, tuple[str, str]]) -> None:
    """Add a panel's labels to the catalog. A key already present with other text is an error."""
    for key, value in entries.items():
        if key in CATALOG and CATALOG[key] != value:
            raise ValueError(f"i18n key {key!r} is already registered with {CATALOG[key]!r}")
        CATALOG[key] = value


def has(key: str) -> bool:
    return key in CATALOG


def t(key: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    """Translate ``key``; unknown keys come back as they are so a missing entry is visible, not fatal."""
    pair = CATALOG.get(key)
    text = key if pair is None else pair[1 if lang == "en" else 0]
    return text.format(**params) if params else text


def pair(key: str) -> tuple[str, str]:
    return CATALOG.get(key, (key, key))
