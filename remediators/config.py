"""Settings read once from the environment (Functions app settings) and validated.

Every problem is reported at once, each naming the variable, the rejected value and the fix,
so a misconfigured app fails at startup instead of on the first event. Secrets (the Teams
webhook URL and a storage connection string) never appear in `repr`, errors or `public_view`,
and errors about a setting that can contain a secret show only the length of its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from azure.mgmt.core.tools import is_valid_resource_id

from remediators.findings import RULES
from remediators.rules import RuleOptions

Mode = Literal["alert", "remediate"]
Approval = Literal["required", "auto"]

SCOPE_SUBSCRIPTIONS = "REMEDIATOR_SCOPE_SUBSCRIPTIONS"
MODE = "REMEDIATOR_MODE"
RULE_MODES = "REMEDIATOR_RULE_MODES"
DRY_RUN = "REMEDIATOR_DRY_RUN"
PE_SUBNET_ID = "REMEDIATOR_PE_SUBNET_ID"
DNS_ZONE_SCOPE = "REMEDIATOR_DNS_ZONE_SCOPE"
CUSTOM_DNS = "REMEDIATOR_CUSTOM_DNS"
CLOUD = "REMEDIATOR_CLOUD"
TEAMS_WEBHOOK_URL = "TEAMS_WEBHOOK_URL"
EMAIL_SENDER = "EMAIL_SENDER"
EMAIL_RECIPIENTS = "EMAIL_RECIPIENTS"
ACS_ENDPOINT = "ACS_ENDPOINT"
COALESCE_SECONDS = "REMEDIATOR_COALESCE_SECONDS"
RENOTIFY_HOURS = "REMEDIATOR_RENOTIFY_HOURS"
SWEEP_SCHEDULE = "REMEDIATOR_SWEEP_SCHEDULE"
RECREATION_APPROVAL = "REMEDIATOR_RECREATION_APPROVAL"
EXEMPT_TAG = "REMEDIATOR_EXEMPT_TAG"
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
STORAGE = "AzureWebJobsStorage"
STORAGE_ACCOUNT_NAME = "AzureWebJobsStorage__accountName"
STORAGE_QUEUE_URI = "AzureWebJobsStorage__queueServiceUri"
STORAGE_BLOB_URI = "AzureWebJobsStorage__blobServiceUri"
STORAGE_TABLE_URI = "AzureWebJobsStorage__tableServiceUri"
STORAGE_CREDENTIAL = "AzureWebJobsStorage__credential"
STORAGE_CLIENT_ID = "AzureWebJobsStorage__clientId"

# Every setting the app reads; the deployment templates set these app settings.
SETTING_NAMES: tuple[str, ...] = (
    SCOPE_SUBSCRIPTIONS,
    MODE,
    RULE_MODES,
    DRY_RUN,
    PE_SUBNET_ID,
    DNS_ZONE_SCOPE,
    CUSTOM_DNS,
    CLOUD,
    TEAMS_WEBHOOK_URL,
    EMAIL_SENDER,
    EMAIL_RECIPIENTS,
    ACS_ENDPOINT,
    COALESCE_SECONDS,
    RENOTIFY_HOURS,
    SWEEP_SCHEDULE,
    RECREATION_APPROVAL,
    EXEMPT_TAG,
    AZURE_CLIENT_ID,
    STORAGE_ACCOUNT_NAME,
    STORAGE_QUEUE_URI,
    STORAGE_BLOB_URI,
    STORAGE_TABLE_URI,
    STORAGE_CREDENTIAL,
    STORAGE_CLIENT_ID,
)

# The Functions host sets this variable on every instance in Azure.
_AZURE_MARKER = "WEBSITE_INSTANCE_ID"
_KEY_VAULT_REFERENCE = "@microsoft.keyvault("

_STORAGE_SUFFIXES = {
    "AzureCloud": "core.windows.net",
    "AzureUSGovernment": "core.usgovcloudapi.net",
    "AzureChinaCloud": "core.chinacloudapi.cn",
}
CLOUDS: tuple[str, ...] = tuple(_STORAGE_SUFFIXES)

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_NCRONTAB_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Settings whose values can contain a key or a signature: errors never show their values.
_SECRET_SETTINGS = (TEAMS_WEBHOOK_URL, ACS_ENDPOINT)
_SECRET_PREFIXES = (STORAGE, "APPLICATIONINSIGHTS_")
# Fragments of connection strings, SAS tokens and signed URLs that mark a value as a secret.
_SECRET_MARKERS = ("accesskey", "accountkey", "sharedaccess", "sig=", "password", "secret", "token")
HIDDEN = "(hidden)"

T = TypeVar("T")


def can_hold_secret(name: str) -> bool:
    """Return whether the setting `name` can contain a key, a signature or a password."""
    return name in _SECRET_SETTINGS or name.startswith(_SECRET_PREFIXES)


def looks_secret(value: str) -> bool:
    """Return whether `value` looks like it carries a key: a key marker, `;`, userinfo or query."""
    lowered = value.lower()
    if any(marker in lowered for marker in _SECRET_MARKERS) or ";" in value:
        return True
    parts = urlsplit(value)
    return bool(parts.query or parts.fragment or "@" in parts.netloc)


def masked(value: str | None) -> str:
    """Describe a value that must not be shown: only its length."""
    if value is None:
        return "(not set)"
    return f"(hidden, {len(value)} characters)"


def plain_https_problem(value: str) -> str | None:
    """Return why `value` is not a plain https URL (no userinfo, query, fragment or `;`)."""
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return "it is not an https:// URL"
    if ";" in value:
        return "it contains ';', as a connection string does"
    if "@" in parts.netloc:
        return "it contains user information before the host"
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return "it has a query or fragment"
    if any(c.isspace() for c in value):
        return "it contains white space"
    return None


class ConfigurationError(ValueError):
    """Raised when settings are missing or invalid; lists every problem found.

    `problems` are the messages and `settings` the name of the setting each one is about, in
    the same order. No message shows the value of a setting that can contain a secret.
    """

    def __init__(self, problems: list[str], settings: list[str] | None = None) -> None:
        self.problems = problems
        self.settings = settings if settings is not None else ["" for _ in problems]
        lines = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"invalid app settings ({len(problems)}):\n{lines}")

    def details(self) -> list[dict[str, str]]:
        """Return each problem as `{"setting", "problem"}`, for an HTTP response."""
        return [
            {"setting": name, "problem": problem}
            for name, problem in zip(self.settings, self.problems, strict=True)
        ]


class Secret:
    """A setting value that must never be logged; `str` and `repr` mask it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class StorageConnection:
    """The connection to the app's storage account: a connection string or an identity."""

    connection_string: Secret | None = None
    account_name: str | None = None
    queue_service_uri: str | None = None
    blob_service_uri: str | None = None
    table_service_uri: str | None = None
    credential: str | None = None
    client_id: str | None = None

    @property
    def uses_identity(self) -> bool:
        return self.connection_string is None

    def service_uri(self, service: Literal["queue", "blob", "table"], cloud: str) -> str | None:
        """Return the service endpoint, derived from the account name when not set."""
        explicit = {
            "queue": self.queue_service_uri,
            "blob": self.blob_service_uri,
            "table": self.table_service_uri,
        }[service]
        if explicit:
            return explicit
        if self.account_name:
            return f"https://{self.account_name}.{service}.{_STORAGE_SUFFIXES[cloud]}"
        return None

    def public_view(self) -> dict[str, Any]:
        if self.connection_string is not None:
            return {"kind": "connection string"}
        return {
            "kind": "identity",
            "account_name": self.account_name,
            "queue_service_uri": self.queue_service_uri,
            "blob_service_uri": self.blob_service_uri,
            "table_service_uri": self.table_service_uri,
            "credential": self.credential,
            "client_id": self.client_id,
        }


@dataclass(frozen=True)
class Settings:
    """The validated configuration of the remediator."""

    scope_subscriptions: tuple[str, ...] = ()
    mode: Mode = "alert"
    rule_modes: Mapping[str, Mode] = field(default_factory=dict)
    dry_run: bool = False
    pe_subnet_id: str | None = None
    dns_zone_scope: str | None = None
    custom_dns: bool = False
    cloud: str = "AzureCloud"
    teams_webhook_url: Secret | None = field(default=None, repr=False)
    email_sender: str | None = None
    email_recipients: tuple[str, ...] = ()
    acs_endpoint: str | None = None
    coalesce_seconds: int = 30
    renotify_hours: int = 24
    sweep_schedule: str = "0 0 3 * * *"
    recreation_approval: Approval = "required"
    exempt_tag: str = "network-isolation"
    exempt_value: str = "exempt"
    azure_client_id: str | None = None
    storage: StorageConnection | None = None
    in_azure: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every setting; ConfigurationError lists all problems."""
        reader = _Reader(environ)
        in_azure = bool(_value(environ, _AZURE_MARKER))
        cloud = reader.choice(CLOUD, CLOUDS, "AzureCloud")
        tag_name, tag_value = reader.exempt_tag()
        settings = cls(
            scope_subscriptions=reader.subscriptions(required=in_azure),
            mode=reader.choice(MODE, ("alert", "remediate"), "alert"),  # type: ignore[arg-type]
            rule_modes=reader.rule_modes(),
            dry_run=reader.boolean(DRY_RUN, False),
            pe_subnet_id=reader.subnet_id(),
            dns_zone_scope=reader.dns_zone_scope(),
            custom_dns=reader.boolean(CUSTOM_DNS, False),
            cloud=cloud,
            teams_webhook_url=reader.webhook(),
            email_sender=reader.email(EMAIL_SENDER),
            email_recipients=reader.recipients(),
            acs_endpoint=reader.acs_endpoint(),
            coalesce_seconds=reader.integer(COALESCE_SECONDS, 30, minimum=0, maximum=3600),
            renotify_hours=reader.integer(RENOTIFY_HOURS, 24, minimum=1, maximum=24 * 365),
            sweep_schedule=reader.ncrontab(),
            recreation_approval=reader.choice(  # type: ignore[arg-type]
                RECREATION_APPROVAL, ("required", "auto"), "required"
            ),
            exempt_tag=tag_name,
            exempt_value=tag_value,
            azure_client_id=reader.guid(AZURE_CLIENT_ID),
            storage=reader.storage(),
            in_azure=in_azure,
        )
        reader.check_email_pair()
        if reader.problems:
            raise ConfigurationError(reader.problems, reader.problem_settings)
        return settings

    def mode_for(self, rule_id: str) -> Mode:
        """Return whether findings of `rule_id` are only alerted or also remediated."""
        return self.rule_modes.get(rule_id, self.mode)

    def rule_options(self) -> RuleOptions:
        return RuleOptions(
            custom_dns=self.custom_dns,
            cloud=self.cloud,
            exempt_tag=self.exempt_tag,
            exempt_value=self.exempt_value,
        )

    def public_view(self) -> dict[str, Any]:
        """Return the settings without secrets, for a health or status endpoint.

        Secrets are left out, and any other value that looks like it carries a key is shown as
        "(hidden)".
        """
        view = {
            "scope_subscriptions": list(self.scope_subscriptions),
            "mode": self.mode,
            "rule_modes": dict(self.rule_modes),
            "dry_run": self.dry_run,
            "pe_subnet_id": self.pe_subnet_id,
            "dns_zone_scope": self.dns_zone_scope,
            "custom_dns": self.custom_dns,
            "cloud": self.cloud,
            "teams_webhook": "set" if self.teams_webhook_url else "not set",
            "email_sender": self.email_sender,
            "email_recipients": list(self.email_recipients),
            "acs_endpoint": self.acs_endpoint,
            "coalesce_seconds": self.coalesce_seconds,
            "renotify_hours": self.renotify_hours,
            "sweep_schedule": self.sweep_schedule,
            "recreation_approval": self.recreation_approval,
            "exempt_tag": f"{self.exempt_tag}={self.exempt_value}",
            "credential": {
                "azure_client_id": self.azure_client_id,
                "kind": "user-assigned managed identity"
                if self.azure_client_id
                else "default (system-assigned identity or developer sign-in)",
            },
            "storage": self.storage.public_view() if self.storage else None,
            "in_azure": self.in_azure,
        }
        return _mask_secret_like(view)


def _mask_secret_like(value: Any) -> Any:
    if isinstance(value, str):
        return HIDDEN if looks_secret(value) else value
    if isinstance(value, dict):
        return {key: _mask_secret_like(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_secret_like(item) for item in value]
    return value


def _value(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name)
    if raw is None:
        return None
    text = raw.strip()
    return text or None


class _Reader:
    """Read settings one by one, collecting problems instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []
        self.problem_settings: list[str] = []

    def get(self, name: str) -> str | None:
        return _value(self.environ, name)

    def add(self, name: str, message: str) -> None:
        self.problems.append(message)
        self.problem_settings.append(name)

    def problem(self, name: str, value: str | None, fix: str) -> None:
        hide = can_hold_secret(name) or (value is not None and looks_secret(value))
        shown = masked(value) if hide else repr(value)
        self.add(name, f"{name}={shown} is invalid: {fix}")

    def parsed(self, name: str, default: T, parse: Callable[[str], T | None], fix: str) -> T:
        text = self.get(name)
        if text is None:
            return default
        result = parse(text)
        if result is None:
            self.problem(name, text, fix)
            return default
        return result

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        by_lower = {a.lower(): a for a in allowed}
        return self.parsed(
            name, default, lambda t: by_lower.get(t.lower()), f"set one of {', '.join(allowed)}"
        )

    def boolean(self, name: str, default: bool) -> bool:
        def parse(text: str) -> bool | None:
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            return None

        return self.parsed(name, default, parse, "set true or false")

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        def parse(text: str) -> int | None:
            try:
                number = int(text)
            except ValueError:
                return None
            return number if minimum <= number <= maximum else None

        return self.parsed(name, default, parse, f"set a whole number from {minimum} to {maximum}")

    def guid(self, name: str) -> str | None:
        return self.parsed(
            name,
            None,
            lambda t: t.lower() if _GUID.match(t) else None,
            "set the client id (a GUID) of the function app's user-assigned managed identity",
        )

    def subscriptions(self, required: bool) -> tuple[str, ...]:
        text = self.get(SCOPE_SUBSCRIPTIONS)
        if text is None:
            if required:
                self.add(
                    SCOPE_SUBSCRIPTIONS,
                    f"{SCOPE_SUBSCRIPTIONS} is missing: set the comma-separated subscription "
                    "ids (GUIDs) whose workspaces the remediator checks",
                )
            return ()
        items = [i.strip() for i in text.split(",") if i.strip()]
        bad = [i for i in items if not _GUID.match(i)]
        if bad or not items:
            self.problem(SCOPE_SUBSCRIPTIONS, text, "use comma-separated subscription ids (GUIDs)")
            return ()
        return tuple(dict.fromkeys(i.lower() for i in items))

    def rule_modes(self) -> dict[str, Mode]:
        text = self.get(RULE_MODES)
        modes: dict[str, Mode] = {}
        if text is None:
            return modes
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            rule_id, separator, mode = (part.strip() for part in item.partition("="))
            if not separator or mode.lower() not in ("alert", "remediate"):
                self.problem(
                    RULE_MODES, item, "write rule-id=alert or rule-id=remediate, comma-separated"
                )
            elif rule_id not in RULES:
                self.problem(
                    RULE_MODES, item, f"unknown rule id {rule_id!r}; known ids: {', '.join(RULES)}"
                )
            else:
                modes[rule_id] = "remediate" if mode.lower() == "remediate" else "alert"
        return modes

    def subnet_id(self) -> str | None:
        def parse(text: str) -> str | None:
            lowered = text.lower()
            is_subnet = "/providers/microsoft.network/virtualnetworks/" in lowered
            is_subnet = is_subnet and "/subnets/" in lowered
            return text if is_subnet and is_valid_resource_id(text) else None

        return self.parsed(
            PE_SUBNET_ID,
            None,
            parse,
            "set the resource id of a subnet, "
            "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/"
            "virtualNetworks/<vnet>/subnets/<subnet>",
        )

    def dns_zone_scope(self) -> str | None:
        def parse(text: str) -> str | None:
            segments = text.rstrip("/").split("/")
            if len(segments) not in (3, 5) or segments[0] or segments[1].lower() != "subscriptions":
                return None
            if not _GUID.match(segments[2]):
                return None
            if len(segments) == 5 and segments[3].lower() != "resourcegroups":
                return None
            return text.rstrip("/")

        return self.parsed(
            DNS_ZONE_SCOPE,
            None,
            parse,
            "set a subscription id (/subscriptions/<id>) or resource group id "
            "(/subscriptions/<id>/resourceGroups/<rg>) where the private DNS zones live",
        )

    def https_url(self, name: str) -> str | None:
        text = self.get(name)
        if text is None:
            return None
        problem = plain_https_problem(text)
        if problem:
            self.problem(
                name, text, f"{problem}; set a plain https:// URL with no key, query or fragment"
            )
            return None
        return text

    def acs_endpoint(self) -> str | None:
        """Read the Communication Services endpoint, a bare https URL of the resource."""
        text = self.get(ACS_ENDPOINT)
        if text is None:
            return None
        problem = plain_https_problem(text)
        if problem is None and urlsplit(text).path not in ("", "/"):
            problem = "it has a path"
        if problem:
            self.problem(
                ACS_ENDPOINT,
                text,
                f"{problem}; set the endpoint alone, https://<resource>.communication.azure.com, "
                "not a connection string (the app authenticates with its managed identity)",
            )
            return None
        return text

    def webhook(self) -> Secret | None:
        text = self.get(TEAMS_WEBHOOK_URL)
        if text is None:
            return None
        if text.lower().startswith(_KEY_VAULT_REFERENCE):
            self.add(
                TEAMS_WEBHOOK_URL,
                f"{TEAMS_WEBHOOK_URL} is an unresolved Key Vault reference: grant the app's "
                "identity 'Key Vault Secrets User' on the vault and check the secret URI",
            )
            return None
        if not text.startswith("https://"):
            self.problem(
                TEAMS_WEBHOOK_URL,
                text,
                "set the https:// URL of the Teams Workflows webhook (store it in Key Vault)",
            )
            return None
        return Secret(text)

    def email(self, name: str) -> str | None:
        return self.parsed(
            name, None, lambda t: t if _EMAIL.match(t) else None, "set an email address"
        )

    def recipients(self) -> tuple[str, ...]:
        text = self.get(EMAIL_RECIPIENTS)
        if text is None:
            return ()
        items = [i.strip() for i in re.split(r"[,;]", text) if i.strip()]
        if not items or any(not _EMAIL.match(i) for i in items):
            self.problem(EMAIL_RECIPIENTS, text, "set comma-separated email addresses")
            return ()
        return tuple(items)

    def check_email_pair(self) -> None:
        """Email alerts need a sender, recipients and the ACS endpoint together."""
        names = (EMAIL_SENDER, EMAIL_RECIPIENTS, ACS_ENDPOINT)
        present = [n for n in names if self.get(n) is not None]
        if present and len(present) != len(names):
            missing = [n for n in names if n not in present]
            self.add(
                missing[0],
                f"{', '.join(missing)} missing while {', '.join(present)} is set: "
                "email alerts need all three, or leave all three unset",
            )

    def ncrontab(self) -> str:
        def parse(text: str) -> str | None:
            fields = text.split()
            if len(fields) != 6 or not all(_NCRONTAB_FIELD.match(f) for f in fields):
                return None
            return " ".join(fields)

        return self.parsed(
            SWEEP_SCHEDULE,
            "0 0 3 * * *",
            parse,
            "set an NCRONTAB expression with six fields "
            "(second minute hour day month day-of-week), e.g. '0 0 3 * * *'",
        )

    def exempt_tag(self) -> tuple[str, str]:
        text = self.get(EXEMPT_TAG)
        if text is None:
            return "network-isolation", "exempt"
        name, separator, value = (part.strip() for part in text.partition("="))
        if not name:
            self.problem(EXEMPT_TAG, text, "write tag-name=value, e.g. network-isolation=exempt")
            return "network-isolation", "exempt"
        return name, (value if separator and value else "exempt").lower()

    def storage(self) -> StorageConnection | None:
        connection = self.get(STORAGE)
        identity = StorageConnection(
            account_name=self.get(STORAGE_ACCOUNT_NAME),
            queue_service_uri=self.https_url(STORAGE_QUEUE_URI),
            blob_service_uri=self.https_url(STORAGE_BLOB_URI),
            table_service_uri=self.https_url(STORAGE_TABLE_URI),
            credential=self.get(STORAGE_CREDENTIAL),
            client_id=self.guid(STORAGE_CLIENT_ID),
        )
        has_identity = any(
            (identity.account_name, identity.queue_service_uri, identity.blob_service_uri)
        )
        if connection is not None:
            if has_identity:
                self.add(
                    STORAGE,
                    f"both {STORAGE} and {STORAGE}__* are set: keep only the identity-based "
                    f"{STORAGE}__* settings so no storage key is stored in app settings",
                )
            return StorageConnection(connection_string=Secret(connection))
        if not has_identity:
            return None
        if identity.credential not in (None, "managedidentity"):
            self.problem(STORAGE_CREDENTIAL, identity.credential, "set managedidentity")
        return identity
