"""Teams of agents, per site, from ``config/teams.yaml``: which team an agent reports under.

    sites:
      gd-hotline:
        billing:
          name: {en: Billing team, zh: 账务组}
          agents: ["10001", "10002"]

A team has a zh and an en name and a list of agent ids (as the events name
them). An agent in no team of its site is in ``unassigned`` — never dropped, so
the teams of a site always add up to the site. An agent listed in two teams of
one site is a configuration error (its time would count twice).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from msgspec import Struct, field

from stream.contracts.floor_config import ConfigError, convert_at, read_yaml

DEFAULT_TEAMS_CONFIG = Path(__file__).resolve().parents[2] / "config" / "teams.yaml"
UNASSIGNED = "unassigned"
UNASSIGNED_NAME = {"en": "Unassigned", "zh": "未分组"}


class TeamName(Struct, forbid_unknown_fields=True):
    en: str
    zh: Optional[str] = None


class Team(Struct, forbid_unknown_fields=True, kw_only=True):
    name: TeamName
    agents: list[str] = field(default_factory=list)


class TeamsFile(Struct, forbid_unknown_fields=True, kw_only=True):
    sites: dict[str, dict[str, Team]] = field(default_factory=dict)


class Teams:
    """Agent → team per site, and each team's names."""

    def __init__(self, sites: Optional[dict[str, dict[str, Team]]] = None) -> None:
        self._sites = sites or {}
        self._of: dict[str, dict[str, str]] = {}
        for site, teams in self._sites.items():
            of: dict[str, str] = {}
            for tid, team in teams.items():
                for a in team.agents:
                    if a in of and of[a] != tid:
                        raise ConfigError(f"teams: agent {a!r} of site {site!r} is in both {of[a]!r} and {tid!r}")
                    of[a] = tid
            self._of[site] = of

    def team_of(self, site: str, agent: str) -> str:
        return self._of.get(site, {}).get(agent, UNASSIGNED)

    def members(self, site: str, team: str) -> Optional[list[str]]:
        """The agents listed in ``team`` (None for ``unassigned``: everyone not listed)."""
        if team == UNASSIGNED:
            return None
        t = self._sites.get(site, {}).get(team)
        if t is None:
            raise KeyError(team)
        return list(t.agents)

    def names(self, site: str) -> dict[str, dict[str, str]]:
        """team id -> {"en", "zh"}, ``unassigned`` included."""
        out = {tid: {"en": t.name.en, "zh": t.name.zh or t.name.en} for tid, t in self._sites.get(site, {}).items()}
        out[UNASSIGNED] = dict(UNASSIGNED_NAME)
        return out


def load_teams(path: Union[str, Path, None] = None) -> Teams:
    """The teams file (default config/teams.yaml; none there: every agent unassigned).
    A bad file is a ConfigError naming the file and the field."""
    p = Path(path) if path is not None else DEFAULT_TEAMS_CONFIG
    if path is None and not p.is_file():
        return Teams()
    data = read_yaml(p)
    if data is None:
        return Teams()
    convert_at(data, TeamsFile, str(p), "$")
    import msgspec

    try:
        return Teams(msgspec.convert(data, TeamsFile).sites)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
