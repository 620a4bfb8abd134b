"""The one module that talks to pymodbus: a register-reading TCP client and a register server.

pymodbus changes its API between minor releases (3.16 is pinned in pyproject.toml), so nothing
else imports it: callers see plain tuples of words, `ModbusLinkError` and a small server
handler protocol. Both ways pymodbus reports a failure are handled here: raised exceptions
(connection lost, timeout) and exception responses (`isError()`, e.g. illegal address).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, cast

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimAction, SimData, SimDevice

__all__ = [
    "ModbusLinkError",
    "ModbusResponseError",
    "RegisterServer",
    "RegisterServerHandler",
    "TcpRegisterClient",
]

_READ_HOLDING = 3
_READ_INPUT = 4


def _raise_dropped_cancellation() -> None:
    """pymodbus waits for an answer with asyncio.wait_for, which on Python 3.11 returns the
    answer and drops a cancellation of the caller that arrives in the same loop iteration
    (CPython gh-86296, fixed in 3.12): the poller would then poll on after being cancelled,
    and whatever waits for it would wait forever. Raise the cancellation it dropped."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ModbusLinkError(Exception):
    """The device could not be reached, did not answer in time, or answered an error."""


class ModbusResponseError(ModbusLinkError):
    """The device answered with a Modbus exception (the connection itself is fine)."""

    def __init__(self, function_code: int, exception_code: int) -> None:
        super().__init__(f"function {function_code}: Modbus exception code {exception_code}")
        self.exception_code = exception_code


class TcpRegisterClient:
    """Reads register blocks from one unit behind one Modbus TCP address.

    pymodbus' own reconnect loop and retries are switched off: the caller decides when to
    reconnect (with its backoff), and a timeout means one failed request, not several.
    """

    def __init__(self, host: str, port: int, unit_id: int, timeout_s: float) -> None:
        self._unit_id = unit_id
        self._timeout_s = timeout_s
        self._client = AsyncModbusTcpClient(
            host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0
        )

    async def connect(self) -> None:
        """Open the TCP connection; raises ModbusLinkError if it cannot."""
        try:
            async with asyncio.timeout(self._timeout_s):
                connected = bool(await self._client.connect())
        except (TimeoutError, OSError, ModbusException) as exc:
            raise ModbusLinkError(f"connect failed: {exc!r}") from exc
        _raise_dropped_cancellation()
        if not connected:
            raise ModbusLinkError("connect failed")

    async def read_registers(self, function_code: int, address: int, count: int) -> tuple[int, ...]:
        """`count` words from `address` with function code 3 or 4."""
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._request(function_code, address, count)
        except TimeoutError as exc:
            raise ModbusLinkError(f"no answer within {self._timeout_s} s") from exc
        except (ModbusException, OSError) as exc:
            raise ModbusLinkError(f"read failed: {exc}") from exc
        _raise_dropped_cancellation()
        if response.isError():
            raise ModbusResponseError(function_code, int(response.exception_code))
        words = tuple(int(word) for word in response.registers)
        if len(words) != count:
            raise ModbusLinkError(f"asked for {count} registers, got {len(words)}")
        return words

    async def _request(self, function_code: int, address: int, count: int) -> _Response:
        if function_code == _READ_HOLDING:
            method = self._client.read_holding_registers
        elif function_code == _READ_INPUT:
            method = self._client.read_input_registers
        else:
            raise ValueError(f"unsupported function code {function_code}")
        response: _Response = await method(address, count=count, device_id=self._unit_id)
        return response

    def close(self) -> None:
        self._client.close()


class _Response(Protocol):
    """The part of a pymodbus response PDU used here."""

    registers: Sequence[int]
    exception_code: int

    def isError(self) -> bool: ...  # noqa: N802 (pymodbus' name)


class RegisterServerHandler(Protocol):
    """What a register server asks its owner. Both run in the event loop and must not block."""

    def holding_write(self, address: int, words: tuple[int, ...]) -> bool:
        """A client writes `words` from `address`: True to accept, False to refuse the write
        with exception code 3 (illegal data value)."""
        ...

    def input_words(self) -> Sequence[int]:
        """The input registers from address 0, fresh for a read about to be answered."""
        ...


def _device(unit_id: int, holding: list[int], input_count: int, action: SimAction) -> SimDevice:
    return SimDevice(
        id=unit_id,
        simdata=(
            [SimData(0, values=False, datatype=DataType.BITS)],
            [SimData(0, values=False, datatype=DataType.BITS)],
            [SimData(0, values=list(holding), datatype=DataType.REGISTERS)],
            [SimData(0, count=input_count, values=0, datatype=DataType.REGISTERS)],
        ),
        action=action,
    )


async def _other_unit(*_access: object) -> ExcCodes:
    return ExcCodes.GATEWAY_NO_RESPONSE


class RegisterServer:
    """A Modbus TCP server with holding and input registers from address 0 for one unit id.

    The holding registers start as `holding_words`; writes the handler accepts are kept and
    read back as written. Addresses past either block are answered with "illegal address".
    """

    def __init__(
        self,
        handler: RegisterServerHandler,
        *,
        unit_id: int,
        holding_words: Sequence[int],
        input_count: int,
    ) -> None:
        self._handler = handler
        holding = list(holding_words)
        self._devices = [_device(unit_id, holding, input_count, self._on_access)]
        if unit_id != 0:
            # pymodbus answers other unit ids from device 0; without one it fails with a
            # traceback. This one answers "gateway target did not respond", as a gateway would.
            self._devices.append(_device(0, holding, input_count, _other_unit))
        self._server: ModbusTcpServer | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port) and return the bound port."""
        server = ModbusTcpServer(self._devices, address=(host, port))
        await server.serve_forever(background=True)
        self._server = server
        # pymodbus types its listener as a transport; it is the asyncio.Server it listens with.
        listener = cast(asyncio.Server, server.transport)
        bound_port: int = listener.sockets[0].getsockname()[1]
        return bound_port

    async def close(self) -> None:
        """Stop listening and drop every client connection."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def _on_access(  # noqa: PLR0917 (pymodbus calls it with six positional arguments)
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if set_values is not None:
            words = tuple(int(value) for value in set_values)
            accepted = self._handler.holding_write(address, words)
            return None if accepted else ExcCodes.ILLEGAL_VALUE
        if function_code == _READ_INPUT:
            fresh = list(self._handler.input_words())
            first = 0 - start_address  # registers[0] holds start_address; ours begin at 0
            registers[first : first + len(fresh)] = fresh
        return None
