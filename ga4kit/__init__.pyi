# The public names of ga4kit for type checkers; __init__.py loads them lazily (see its docstring).
from ga4kit.admin import ApplyInterrupted as ApplyInterrupted
from ga4kit.admin import Plan as Plan
from ga4kit.admin import Result as Result
from ga4kit.admin import WritePolicy as WritePolicy
from ga4kit.admin import apply as apply
from ga4kit.admin import plan as plan
from ga4kit.audit import AuditReport as AuditReport
from ga4kit.audit import run_audit as run_audit
from ga4kit.config import Chain as Chain
from ga4kit.config import Goal as Goal
from ga4kit.config import GoalsConfig as GoalsConfig
from ga4kit.config import PropertyRef as PropertyRef
from ga4kit.config import load as load
from ga4kit.config import load_text as load_text
from ga4kit.connect import Clients as Clients
from ga4kit.connect import make_clients as make_clients
from ga4kit.destinations import Destination as Destination
from ga4kit.destinations import open_destination as open_destination
from ga4kit.destinations import read_frames as read_frames
from ga4kit.destinations import write_frames as write_frames
from ga4kit.destinations import write_pull as write_pull
from ga4kit.errors import AlreadyExistsError as AlreadyExistsError
from ga4kit.errors import ApiError as ApiError
from ga4kit.errors import CapExceededError as CapExceededError
from ga4kit.errors import ConfigError as ConfigError
from ga4kit.errors import CredentialsError as CredentialsError
from ga4kit.errors import Ga4kitError as Ga4kitError
from ga4kit.errors import IdentifierError as IdentifierError
from ga4kit.errors import InvalidArgumentError as InvalidArgumentError
from ga4kit.errors import NetworkError as NetworkError
from ga4kit.errors import NotFoundError as NotFoundError
from ga4kit.errors import OutputError as OutputError
from ga4kit.errors import PermissionDeniedError as PermissionDeniedError
from ga4kit.errors import PlanError as PlanError
from ga4kit.errors import QuotaExhaustedError as QuotaExhaustedError
from ga4kit.errors import ResponseTooLargeError as ResponseTooLargeError
from ga4kit.errors import UnavailableError as UnavailableError
from ga4kit.properties import PropertySummary as PropertySummary
from ga4kit.properties import list_properties as list_properties
from ga4kit.reporting import PullResult as PullResult
from ga4kit.reporting import pull as pull
from ga4kit.reporting.analysis import Analysis as Analysis
from ga4kit.reporting.analysis import analyse as analyse

__version__: str
__all__: list[str]
