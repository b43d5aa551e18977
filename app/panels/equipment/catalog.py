"""Labels of the equipment panel, Russian and English (seed 000)."""

from models.equipment import Condition, Location, Process

CATALOG = {
    "equipment": ("Оборудование", "Equipment"),
    "role.equipment.storekeeper": ("Кладовщик", "Storekeeper"),
    "role.equipment.support": ("Техподдержка", "Support"),
    "role.equipment.chief": ("Начальник", "Chief"),
    # the three status axes (section 4): machine labels and their values
    "asset.location": ("Локация", "Location"),
    "asset.condition": ("Тех. состояние", "Condition"),
    "asset.process": ("Процесс", "Process"),
}

_AXES = {
    Location: "asset.location",
    Condition: "asset.condition",
    Process: "asset.process",
}
_VALUES = {
    Location.MAIN_WAREHOUSE: ("Основной склад", "Main warehouse"),
    Location.BIN: ("Ячейка", "Bin"),
    Location.IN_TRANSIT: ("В пути", "In transit"),
    Location.STORE: ("Магазин", "Store"),
    Location.SERVICE_CENTER: ("Сервисный центр", "Service centre"),
    Location.LOST: ("Утеряно", "Lost"),
    Location.UNKNOWN: ("Неизвестно", "Unknown"),
    Condition.WORKING: ("Исправно", "Working"),
    Condition.DEFECTIVE: ("Неисправно", "Defective"),
    Condition.ON_TESTING: ("На тестировании", "On testing"),
    Condition.REQUIRES_REPAIR: ("Требует ремонта", "Requires repair"),
    Condition.WAITING_PARTS: ("Ждёт запчасти", "Waiting for parts"),
    Condition.NOT_REPAIRABLE: ("Ремонту не подлежит", "Not repairable"),
    Condition.REQUIRES_WRITE_OFF: ("Требует списания", "Requires write-off"),
    Process.FREE: ("Свободно", "Free"),
    Process.RESERVED: ("В резерве", "Reserved"),
    Process.PICKED: ("Собрано", "Picked"),
    Process.WAITING_SHIPMENT: ("Ждёт отгрузки", "Waiting for shipment"),
    Process.IN_SHIPMENT: ("В отгрузке", "In shipment"),
    Process.DELIVERED: ("Доставлено", "Delivered"),
    Process.NOT_INSTALLED: ("Не установлено", "Not installed"),
    Process.INSTALLED: ("Установлено", "Installed"),
    Process.WAITING_REPAIR_SHIPMENT: ("Ждёт отправки в ремонт", "Waiting for repair shipment"),
    Process.IN_REPAIR: ("В ремонте", "In repair"),
    Process.WRITE_OFF_IN_PROGRESS: ("Списывается", "Write-off in progress"),
    Process.WRITTEN_OFF: ("Списано", "Written off"),
}
for _value, _pair in _VALUES.items():
    CATALOG[f"{_AXES[type(_value)]}.{_value.value}"] = _pair
