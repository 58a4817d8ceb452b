"""[simulation]: the documented, validated staff and citizen habits the digital twin draws from."""

from __future__ import annotations

from pydantic import Field, field_validator

from controller.domain.strict import StrictModel

# A made-up, plausible spread of the five levels (most citizens are satisfied): what the demo's
# and the flag audit's simulated citizens press.
CITIZEN_LEVELS = (
    ("very_satisfied", 0.70),
    ("satisfied", 0.18),
    ("basically_satisfied", 0.07),
    ("dissatisfied", 0.03),
    ("very_dissatisfied", 0.02),
)


def citizen_level(roll: float) -> str:
    """The level a simulated citizen presses, for a uniform `roll` in [0, 1)."""
    for level, share in CITIZEN_LEVELS:
        if roll < share:
            return level
        roll -= share
    return CITIZEN_LEVELS[0][0]


# Every habit switched off: the textbook first-come-first-served queue (docs/simulation.md).
HABITS_OFF = {
    "post_finish_pause_seconds": (0.0, 0.0),
    "idle_poll_seconds": 0.0,
    "no_show_rate": 0.0,
    "transfer_rate": 0.0,
    "priority_share": 0.0,
    "sign_in_spread_minutes": (0.0, 0.0),
}


class Behaviour(StrictModel):
    """Habits of the simulated staff and citizens; `habits = false` switches every habit off."""

    habits: bool = Field(default=True, description="false: every habit below is off")
    utilisation: float = Field(
        default=0.7, gt=0, le=3, description="generated demand as a share of the windows' capacity"
    )
    service_time_sigma: float = Field(
        default=0.45, ge=0, le=2, description="log-normal spread of service times; 0: the average"
    )
    service_time_sigma_by_service: dict[str, float] = Field(
        default={}, description="the spread of the services named; others take the one above"
    )
    service_minutes_by_service: dict[str, float] = Field(
        default={},
        description="mean minutes a simulated visit takes, of the services named (measured by "
        "hallctl habits); others take the service's average_service_minutes",
    )
    post_finish_pause_seconds: tuple[float, float] = Field(
        default=(5.0, 40.0), description="uniform pause after a finish before calling the next"
    )
    idle_poll_seconds: float = Field(
        default=0.0, ge=0, le=600, description="0: an idle window calls when a ticket arrives"
    )
    no_show_rate: float = Field(default=0.04, ge=0, le=1, description="citizens absent when called")
    transfer_rate: float = Field(default=0.03, ge=0, le=1, description="tickets sent on (转办)")
    priority_share: float = Field(default=0.05, ge=0, le=1, description="绿色通道 citizens")
    sign_in_spread_minutes: tuple[float, float] = Field(
        default=(-5.0, 3.0), description="staff sign in uniformly this early (-) to late (+)"
    )

    @field_validator("post_finish_pause_seconds")
    @classmethod
    def _pause(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 <= low <= high <= 600:
            raise ValueError(
                f"expected [low, high] seconds, 0 <= low <= high <= 600; got {list(value)}"
            )
        return value

    @field_validator("service_time_sigma_by_service")
    @classmethod
    def _sigmas(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {code: sigma for code, sigma in value.items() if not 0 <= sigma <= 2}
        if bad:
            raise ValueError(f"every spread must be within 0..2; got {bad}")
        return value

    @field_validator("service_minutes_by_service")
    @classmethod
    def _minutes(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {code: minutes for code, minutes in value.items() if not 0 < minutes <= 240}
        if bad:
            raise ValueError(f"every mean must be above 0 and at most 240 minutes; got {bad}")
        return value

    @field_validator("sign_in_spread_minutes")
    @classmethod
    def _spread(cls, value: tuple[float, float]) -> tuple[float, float]:
        early, late = value
        if not -120 <= early <= late <= 120:
            raise ValueError(
                f"expected [early, late] minutes, -120 <= early <= late <= 120; got {list(value)}"
            )
        return value

    def sigma_of(self, service: str) -> float:
        """The log-normal spread of `service`'s service times."""
        return self.service_time_sigma_by_service.get(service, self.service_time_sigma)

    def minutes_of(self, service: str, average: float) -> float:
        """The mean minutes a simulated visit to `service` takes (`average`: the config's)."""
        return self.service_minutes_by_service.get(service, average)

    def in_effect(self) -> Behaviour:
        """These habits, or every habit off when `habits` is false."""
        return self if self.habits else self.model_copy(update=HABITS_OFF)
