"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from models.core import AuditLog, Notification, NotificationRule, Role, Setting, User, UserSession  # noqa: F401
from models.comments import Comment  # noqa: F401
from models.files import StoredFile  # noqa: F401
from models.jobs import JobRun, JobStatus, Schedule  # noqa: F401
from models.stock import Order, OrderStatus, Product, Supply  # noqa: F401
from models.numbers import (  # noqa: F401
    CallEvent,
    Geo,
    ManagerScope,
    NumberStat,
    NumberStatMonth,
    NumberStatus,
    NumberTransfer,
    PhoneNumber,
    Project,
    ProjectGeo,
    ProjectProvider,
    ProjectSchedule,
    Provider,
    SftpHost,
)
from models.equipment import (  # noqa: F401
    Asset,
    AssetEvent,
    DeliveryEvent,
    DeliveryOrder,
    DeliveryProviderLog,
    EqProduct,
    EqRequest,
    RequestLine,
    RequestTemplate,
    RequestTemplateLine,
    Reservation,
    Shipment,
    ShipmentItem,
    StockDocument,
    StockDocumentLine,
    StockItem,
    StockMove,
    Store,
    Warehouse,
    WarehouseBin,
)
