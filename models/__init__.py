"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from models.core import AuditLog, Notification, NotificationRule, Role, Setting, User, UserSession  # noqa: F401
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
