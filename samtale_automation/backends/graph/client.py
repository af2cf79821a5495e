"""The thin synchronous Microsoft Graph client: one request at a time, throttling retries, `$batch`.

Requests go through `requests` with an injectable token provider, base URL and sleep, so the tests
run it against the loopback stand-in. 429, 503 and 504 are retried honouring `Retry-After` (else
after 1, 4 and 15 s) until `max_wait` seconds were spent on one request.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from samtale_automation.backends.graph.constants import (
    BATCH_BODY_LIMIT,
    BATCH_LIMIT,
    PREFER,
    RETRY_DELAYS,
    THROTTLED,
    TIMEOUT,
    TOML,
    WINDOWS_ZONE,
)
from samtale_automation.backends.tls import ContextAdapter
from samtale_automation.config.graph import DEFAULT_BASE_URL, DEFAULT_MAX_WAIT
from samtale_automation.domain.messages import (
    BackendStats,
)
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import BackendError
from samtale_automation.texts import tr

if TYPE_CHECKING:
    import ssl



# ---- the HTTP client ------------------------------------------------------------------------------


@dataclass
class Call:
    """One Graph request: `url` relative to the base URL (or absolute, e.g. an upload URL)."""

    method: str
    url: str
    body: Any = None  # JSON
    data: bytes | None = None  # raw bytes (upload ranges)
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True  # False for upload URLs: they carry their own token and refuse ours
    raw: bool = False  # the answer is bytes (`/$value`)
    lookup: tuple[str, str] | None = None  # (mailbox, key): a tag lookup, merged by the runner

    @property
    def batchable(self) -> bool:
        """Whether it can go inside a `$batch` (JSON, relative URL)."""
        return self.auth and not self.raw and self.data is None and not self.url.startswith(("http:", "https:"))

    def size(self) -> int:
        """Roughly how many bytes it adds to a `$batch` body."""
        return len(json.dumps(self.body)) + len(self.url) + 200 if self.body is not None else len(self.url) + 200


@dataclass
class Answer:
    """What Graph answered: status, JSON body (or bytes) and headers (lower-case names)."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (empty when there is none)."""
        return self.body if isinstance(self.body, dict) else {}

    def error(self) -> tuple[str, str]:
        """Graph's error code and message."""
        error = self.json().get("error")
        if isinstance(error, dict):
            return str(error.get("code", "")), str(error.get("message", ""))
        return "", str(self.body)[:200] if isinstance(self.body, str) else ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())




def make_session(ssl_context: ssl.SSLContext | None = None) -> requests.Session:
    """A requests session; with `ssl_context`, HTTPS trusts that context instead of the default CAs."""
    session = requests.Session()
    if ssl_context is not None:
        session.mount("https://", ContextAdapter(ssl_context))
    return session


class GraphClient:
    """A thin synchronous Graph client: one request at a time, retries for throttling, and `$batch`."""

    def __init__(self, token_provider: Callable[[], str], base_url: str = DEFAULT_BASE_URL, *,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = DEFAULT_MAX_WAIT, stats: BackendStats | None = None, timeout: float = TIMEOUT,
                 secrets: Sequence[str] = ()) -> None:
        self.token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.sleep = sleep
        self.max_wait = max_wait
        self.stats = stats or BackendStats()
        self.timeout = timeout
        self._secrets = [s for s in secrets if s]
        self._tokens: list[str] = []
        for key in ("batches", "batched_requests"):
            self.stats.extra.setdefault(key, 0)

    def __repr__(self) -> str:  # no token or secret in reprs
        return f"GraphClient({self.base_url})"

    def scrub(self, text: str) -> str:
        """The text without any secret or token, should a server ever echo one."""
        for secret in [*self._secrets, *self._tokens]:
            text = text.replace(secret, "***")
        return text

    def _token(self) -> str:
        token = self.token_provider()
        if token not in self._tokens:
            self._tokens.append(token)
        return token

    def _delay(self, waited: float, attempt: int, retry_after: float | None) -> float | None:
        """How long to wait before the next try, or None when `max_wait` would be exceeded."""
        delay = retry_after if retry_after is not None else RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
        return None if waited + delay > self.max_wait else delay

    def _pause(self, delay: float) -> None:
        self.stats.retries += 1
        self.stats.waited_seconds += delay
        self.sleep(delay)

    def call(self, request: Call) -> Answer:
        """Send one request, retrying throttling and lost connections; the final answer, whatever its status.

        BackendError when Graph cannot be reached, keeps throttling beyond `max_wait`, or rejects the token.
        """
        url = request.url if request.url.startswith(("http:", "https:")) else self.base_url + request.url
        waited, attempt, connection_tries = 0.0, 0, 0
        while True:
            headers = dict(request.headers)
            if request.auth:
                headers.setdefault("Prefer", PREFER)
                headers["Authorization"] = f"Bearer {self._token()}"
            self.stats.requests += 1
            if not self.stats.connections:
                self.stats.connections = 1
            try:
                response = self.session.request(request.method, url, json=request.body, data=request.data,
                                                headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A POST that timed out while waiting for the answer probably arrived: sending it again could
                # send a mail twice (events are safe by their transactionId, but not worth the difference).
                arrived = isinstance(exc, requests.ReadTimeout) and request.method == "POST"
                if arrived or isinstance(exc, requests.exceptions.SSLError) or connection_tries >= len(RETRY_DELAYS):
                    raise self._unreachable(exc) from None
                self._pause(RETRY_DELAYS[connection_tries])
                connection_tries += 1
                continue
            except requests.RequestException as exc:
                raise self._unreachable(exc) from None
            answer = self._answer(response, raw=request.raw)
            if answer.status in THROTTLED:
                delay = self._delay(waited, attempt, _retry_after(answer.headers))
                if delay is None:
                    raise self._gave_up(answer, waited)
                self._pause(delay)
                waited += delay
                attempt += 1
                continue
            if answer.status == 401 and request.auth:
                raise self._rejected(answer)
            return answer

    @staticmethod
    def _answer(response: Any, *, raw: bool) -> Answer:
        headers = {k.lower(): v for k, v in response.headers.items()}
        body: Any = None
        if raw and 200 <= response.status_code < 300:
            body = response.content
        elif response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        return Answer(response.status_code, body, headers)

    def batch(self, calls: Sequence[Call]) -> list[Answer]:
        """Send the calls, in `$batch` requests of ≤ 20 where possible; one answer per call, in order.

        Inner 429/503/504 answers are retried together after the longest `Retry-After` among them; those
        still throttled when `max_wait` is spent keep their last (throttled) answer.
        """
        answers: list[Answer | None] = [None] * len(calls)
        todo = list(range(len(calls)))
        waited, attempt = 0.0, 0
        while todo:
            throttled: list[int] = []
            longest: float | None = None
            for group in self._groups(todo, calls):
                if len(group) == 1:
                    answers[group[0]] = self.call(calls[group[0]])
                    continue
                for index, answer in zip(group, self._send_batch([calls[i] for i in group]), strict=True):
                    answers[index] = answer
                    if answer.status in THROTTLED:
                        throttled.append(index)
                        after = _retry_after(answer.headers)
                        if after is not None:
                            longest = after if longest is None else max(longest, after)
            if not throttled:
                break
            delay = self._delay(waited, attempt, longest)
            if delay is None:
                break
            self._pause(delay)
            waited += delay
            attempt += 1
            todo = throttled
        return [a if a is not None else Answer(0) for a in answers]

    def _groups(self, todo: list[int], calls: Sequence[Call]) -> Iterator[list[int]]:
        """The calls in `$batch`-sized groups: ≤ 20 requests and < 4 MB each; others alone."""
        if len(todo) == 1:
            yield todo
            return
        group: list[int] = []
        size = 0
        for index in todo:
            call = calls[index]
            if not call.batchable or call.size() > BATCH_BODY_LIMIT:
                yield [index]
                continue
            if group and (len(group) == BATCH_LIMIT or size + call.size() > BATCH_BODY_LIMIT):
                yield group
                group, size = [], 0
            group.append(index)
            size += call.size()
        if group:
            yield group

    def _send_batch(self, calls: list[Call]) -> list[Answer]:
        requests_ = []
        for number, call in enumerate(calls):
            inner: dict[str, Any] = {"id": str(number), "method": call.method, "url": call.url,
                                     "headers": {"Prefer": PREFER, **call.headers}}
            if call.body is not None:
                inner["body"] = call.body
                inner["headers"]["Content-Type"] = "application/json"
            requests_.append(inner)
        self.stats.extra["batches"] += 1
        self.stats.extra["batched_requests"] += len(calls)
        outer = self.call(Call("POST", "/$batch", {"requests": requests_}))
        if not outer.ok:
            return [outer for _ in calls]  # the whole batch refused: each job fails with that answer
        by_id = {str(r.get("id")): r for r in outer.json().get("responses", []) if isinstance(r, dict)}
        answers = []
        for number in range(len(calls)):
            inner_answer = by_id.get(str(number))
            if inner_answer is None:
                answers.append(Answer(502, {"error": {"code": "MissingResponse", "message": "no answer in $batch"}}))
                continue
            headers = {str(k).lower(): str(v) for k, v in (inner_answer.get("headers") or {}).items()}
            answer = Answer(int(inner_answer.get("status", 0)), inner_answer.get("body"), headers)
            if answer.status == 401:
                raise self._rejected(answer)
            answers.append(answer)
        return answers

    # ---- errors -------------------------------------------------------------------------------

    def _unreachable(self, exc: BaseException) -> BackendError:
        detail = self.scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, requests.exceptions.SSLError):
            return BackendError(
                tr(f"Sertifikatet til Microsoft Graph ({self.base_url}) kunne ikke godkjennes ({detail}).",
                   f"The certificate of Microsoft Graph ({self.base_url}) could not be verified ({detail})."),
                hint=tr(f"Kontroller [graph] base_url i {TOML} og en eventuell proxy som bryter opp TLS.",
                        f"Check [graph] base_url in {TOML} and any proxy that intercepts TLS."))
        return BackendError(
            tr(f"Fikk ikke kontakt med Microsoft Graph ({self.base_url}): {detail}.",
               f"Could not reach Microsoft Graph ({self.base_url}): {detail}."),
            hint=tr(f"Kontroller nettverket og [graph] base_url i {TOML} (standard {DEFAULT_BASE_URL}).",
                    f"Check the network and [graph] base_url in {TOML} (default {DEFAULT_BASE_URL})."))

    def _gave_up(self, answer: Answer, waited: float) -> BackendError:
        code, message = answer.error()
        return BackendError(
            tr(f"Microsoft Graph struper forespørslene ({answer.status} {code}); ga opp etter å ha ventet "
               f"{waited:.0f} sekunder.",
               f"Microsoft Graph throttles the requests ({answer.status} {code}); gave up after waiting "
               f"{waited:.0f} seconds."),
            hint=tr(f"Kjør kommandoen igjen senere (det som er sendt, er registrert), eller øk [graph] max_wait i "
                    f"{TOML}. {self.scrub(message)}".rstrip(),
                    f"Run the command again later (what was sent is recorded), or raise [graph] max_wait in "
                    f"{TOML}. {self.scrub(message)}".rstrip()))

    def _rejected(self, answer: Answer) -> BackendError:
        code, message = answer.error()
        return BackendError(
            tr(f"Microsoft Graph godtok ikke tilgangstokenet ({code}: {self.scrub(message)}).",
               f"Microsoft Graph did not accept the access token ({code}: {self.scrub(message)})."),
            hint=tr(f"Kontroller [graph] tenant_id og client_id i {TOML}, at appen har fått administratorsamtykke, "
                    f"og at [graph] base_url hører til samme sky som authority_host.",
                    f"Check [graph] tenant_id and client_id in {TOML}, that the app has admin consent, and that "
                    "[graph] base_url belongs to the same cloud as authority_host."))


# ---- time and JSON shapes -------------------------------------------------------------------------


def graph_time(moment: dt.datetime) -> dict[str, str]:
    """An aware datetime as Graph's dateTimeTimeZone in Norwegian local time (Windows zone name)."""
    local = moment.astimezone(OSLO).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": WINDOWS_ZONE}


def parse_graph_time(value: Mapping[str, Any]) -> dt.datetime:
    """Graph's dateTimeTimeZone (7 decimals, a Windows or IANA zone) as an aware datetime in Oslo."""
    text = str(value.get("dateTime", ""))
    if "." in text:
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction.rstrip('Z')[:6]}"
    moment = dt.datetime.fromisoformat(text.rstrip("Z"))
    if moment.tzinfo is None:
        zone_name = str(value.get("timeZone") or "UTC")
        zone: dt.tzinfo
        if zone_name in (WINDOWS_ZONE, "Romance Standard Time", "Central Europe Standard Time"):
            zone = OSLO  # the same rules as Oslo
        elif zone_name in ("UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"):
            zone = dt.UTC
        else:
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                zone = dt.UTC
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(OSLO)


def odata_literal(text: str) -> str:
    return text.replace("'", "''")


def with_query(path: str, params: Mapping[str, str]) -> str:
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={quote(v, safe=',()=:/@')}" for k, v in params.items())


def box_path(address: str) -> str:
    return f"/users/{quote(address, safe='@')}"


def address_of(person: Mapping[str, Any]) -> str:
    email = person.get("emailAddress")
    return str(email.get("address", "")) if isinstance(email, dict) else ""
