"""Satisfaction API settings (env HALLCTL_SATISFACTION_*), hall profiles, and the central config file."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from controller.domain.calendar import HallCalendar
from controller.domain.errors import ConfigError, ConfigProblem
from controller.domain.hall_rules import CalendarConfig, HallIdentity
from controller.satisfaction.auth import SatisfactionTokenConfig
from controller.satisfaction.models import HALL_ID
from controller.settings.config_loader import load_config
from controller.settings.hall_config import HallConfig

DEFAULT_RECTIFY_WORKING_DAYS = 15


def known_zone(name: str) -> str:
    """The zone name if the system knows it; ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err
    return name


class SatisfactionSettings(BaseSettings):
    """Knobs of the satisfaction API; environment variables override the config file."""

    model_config = SettingsConfigDict(env_prefix="HALLCTL_SATISFACTION_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///var/satisfaction.db",
        description="sqlite:///FILE (embedded) or postgresql://USER@HOST:PORT/DB (central)",
    )
    report_database_url: str | None = Field(
        default=None,
        description="postgresql://… of a read replica (hot standby) that reports, exports and "
        "the exchange feed read; ingest, work orders and the registry stay on database_url",
    )
    defaults_in_satisfaction: bool = Field(
        default=False,
        description="count system-default ratings (channel 7) in 满意率 and 差评率; never in 评价率",
    )
    rectify_working_days: int = Field(default=DEFAULT_RECTIFY_WORKING_DAYS, ge=1, le=60)
    max_future_minutes: int = Field(
        default=10, ge=0, le=1440, description="refuse ratings dated later than now + this"
    )
    timezone: str = Field(default="Asia/Shanghai", description="for 'today' across halls")
    export_max_rows: int = Field(
        default=200_000, ge=1, description="larger XLSX exports run as jobs (CSV streams)"
    )
    export_dir: Path = Field(
        default=Path("var/satisfaction-exports"),
        description="export job files; shared storage when several API hosts serve downloads",
    )
    # Connection budget per API process (PostgreSQL): ingest and reports never share a pool.
    ingest_pool_size: int = Field(default=5, ge=1, le=200)
    ingest_pool_overflow: int = Field(default=5, ge=0, le=200)
    report_pool_size: int = Field(default=3, ge=1, le=200)
    report_pool_overflow: int = Field(default=0, ge=0, le=200)
    report_pool_timeout_s: float = Field(default=10, gt=0, le=300)
    report_statement_timeout_ms: int = Field(default=15_000, ge=100, le=3_600_000)
    registry_refresh_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how soon a hall registry change reaches a process"
    )
    # Monthly partitions and their archive (PostgreSQL; docs/satisfaction-province.md).
    partition_months_ahead: int = Field(
        default=3, ge=1, le=24, description="monthly partitions made ahead of the current month"
    )
    retention_months: int | None = Field(
        default=None,
        ge=1,
        le=1200,
        description="months of raw records kept after their month ends; unset: kept for good "
        "(the national rules set no period: a province's own rule goes here)",
    )
    archive_dir: Path = Field(
        default=Path("var/satisfaction-archive"),
        description="where `hallctl satisfaction-archive` writes a month's files",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _replica_beside_postgres(self) -> SatisfactionSettings:
        if self.report_database_url is not None and not (
            self.database_url.startswith("postgresql")
            and self.report_database_url.startswith("postgresql")
        ):
            raise ValueError(
                "report_database_url (a read replica) needs PostgreSQL for it and for "
                "database_url: an embedded SQLite store has no replica"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment wins over the file (a database password never sits in the file)."""
        return env_settings, init_settings

    @property
    def zone(self) -> ZoneInfo:
        """The zone used for 'today' when a query spans halls."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class HallProfile:
    """What the API must know of a hall: its zone, holiday calendar and rectify deadline."""

    hall_id: str
    zone: ZoneInfo
    calendar: HallCalendar
    rectify_working_days: int = DEFAULT_RECTIFY_WORKING_DAYS
    suspended: bool = False  # by a province admin: its records are answered 403 hall_suspended

    def deadline(self, day: dt.date) -> dt.date:
        """The last working day to rectify a 差评 rated on `day`."""
        return self.calendar.add_working_days(day, self.rectify_working_days)


def hall_id_of(identity: HallIdentity) -> str:
    """A hall's id at the satisfaction API: region code and department code."""
    return f"{identity.region_code}-{identity.department_code}"


def profile_from_config(
    config: HallConfig, *, rectify_working_days: int = DEFAULT_RECTIFY_WORKING_DAYS
) -> HallProfile:
    """The profile of a hall described by its controller config (the embedded case)."""
    return HallProfile(
        hall_id_of(config.hall), config.zone, HallCalendar(config.calendar), rectify_working_days
    )


class HallEntry(BaseModel):
    """A hall served by a central deployment: its controller config, or zone and calendar inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=HALL_ID)
    config: Path | None = None
    timezone: str = "Asia/Shanghai"
    calendar: CalendarConfig | None = None
    rectify_working_days: int | None = Field(default=None, ge=1, le=60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _one_source(self) -> HallEntry:
        if (self.config is None) == (self.calendar is None):
            raise ValueError("give either config = <hall config file> or an inline [calendar]")
        return self


class CentralConfig(BaseModel):
    """The satisfaction API's own config file (config/satisfaction.example.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: dict[str, Any] = {}
    halls: list[HallEntry] = []
    tokens: list[SatisfactionTokenConfig] = []

    @model_validator(mode="after")
    def _tokens_name_known_halls(self) -> CentralConfig:
        known = {h.id for h in self.halls}
        if len(known) != len(self.halls):
            raise ValueError("hall ids must be unique")
        for token in self.tokens:
            if token.hall_id is not None and token.hall_id not in known:
                raise ValueError(f"token {token.name!r} names unknown hall {token.hall_id!r}")
        return self


@dataclass(frozen=True)
class LoadedCentral:
    """A central config file read and checked: settings, hall profiles and tokens."""

    settings: SatisfactionSettings
    profiles: dict[str, HallProfile]
    tokens: list[SatisfactionTokenConfig]


def load_central_config(path: Path) -> LoadedCentral:
    """Read the central config; ConfigError names the file and key of every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        central = CentralConfig.model_validate(data)
        settings = SatisfactionSettings(**central.settings)
    except OSError as err:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {err}")]) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([ConfigProblem(str(path), None, "", str(err))]) from err
    except ValidationError as err:
        problems = [
            ConfigProblem(str(path), None, ".".join(map(str, e["loc"])), e["msg"])
            for e in err.errors()
        ]
        raise ConfigError(problems) from err
    profiles = {}
    for entry in central.halls:
        days = entry.rectify_working_days or settings.rectify_working_days
        if entry.config is not None:
            hall_file = entry.config if entry.config.is_absolute() else path.parent / entry.config
            config = load_config(hall_file)
            days = entry.rectify_working_days or config.satisfaction.rectify_working_days or days
            profiles[entry.id] = HallProfile(
                entry.id, config.zone, HallCalendar(config.calendar), days
            )
        else:
            assert entry.calendar is not None  # the validator saw to it
            profiles[entry.id] = HallProfile(
                entry.id, ZoneInfo(entry.timezone), HallCalendar(entry.calendar), days
            )
    return LoadedCentral(settings, profiles, list(central.tokens))
