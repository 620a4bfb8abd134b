"""Register maps of common grid meters, as data.

Rules of this file:
- Addresses are 0-based, as they go on the wire (a datasheet's "30001" or "40001" is address 0).
- Every register names its function code (3: holding, 4: input), its data type, its word order
  (big: most significant word first) and the factor that turns the raw number into SI units (A,
  V, W). SunSpec registers scale by 10 ** (a scale-factor register) instead.
- A phase the meter does not measure is `None` in the map (single- and split-phase SunSpec
  meters): the poller reports it as 0 A, so such a meter belongs on a node wired to fewer phases.
- Each map cites the vendor document it was read from; where a detail could not be confirmed
  there, the comment says so. Check a meter you depend on against its own manual.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class FunctionCode(IntEnum):
    READ_HOLDING = 3
    READ_INPUT = 4


class DataType(StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


class WordOrder(StrEnum):
    BIG = "big"
    """Most significant word at the lower address (bytes are always big-endian in a word)."""
    LITTLE = "little"
    """Least significant word at the lower address ("LSW first", "word swapped")."""


WORDS_PER_TYPE: dict[DataType, int] = {
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.FLOAT32: 2,
    DataType.FLOAT64: 4,
}


@dataclass(frozen=True, slots=True)
class Register:
    """Where one quantity lives and how to turn its words into an SI value."""

    address: int
    function_code: FunctionCode
    data_type: DataType
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0
    """SI value = raw number x scale (x 10 ** scale factor, for SunSpec)."""
    scale_factor_address: int | None = None
    """SunSpec: the int16 register holding the power-of-ten exponent (same function code)."""
    sunspec: bool = False
    """SunSpec "not implemented" values (int16 0x8000, uint16 0xFFFF, ...) mean: no value."""

    @property
    def word_count(self) -> int:
        return WORDS_PER_TYPE[self.data_type]


PhaseRegisters = tuple[Register | None, Register | None, Register | None]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """The per-phase current, voltage and active power registers of one meter model."""

    name: str
    source: str
    current_a: PhaseRegisters
    voltage_v: PhaseRegisters | None
    power_w: PhaseRegisters | None
    max_block_words: int = 64
    """Largest single read; Eastron meters refuse more than 80 registers in one request."""
    max_gap_words: int = 8
    """Unused registers a read may span to save a round trip; only gaps the vendor documents as
    readable registers are spanned by the built-in maps."""


def _phases(
    first_address: int,
    step_words: int,
    function_code: FunctionCode,
    data_type: DataType,
    *,
    word_order: WordOrder = WordOrder.BIG,
    scale: float = 1.0,
) -> PhaseRegisters:
    """Three equally spaced registers L1, L2, L3."""
    return (
        Register(first_address, function_code, data_type, word_order, scale),
        Register(first_address + step_words, function_code, data_type, word_order, scale),
        Register(first_address + 2 * step_words, function_code, data_type, word_order, scale),
    )


_INPUT = FunctionCode.READ_INPUT
_HOLDING = FunctionCode.READ_HOLDING

# Eastron SDM630 Modbus Smart Meter, "Modbus Protocol Implementation" (input registers,
# 3X 30001.., function code 04, IEEE 754 float, high word first).
EASTRON_SDM630 = RegisterMap(
    name="eastron_sdm630",
    source="Eastron SDM630Modbus Smart Meter Modbus Protocol Implementation, input registers",
    voltage_v=_phases(0x0000, 2, _INPUT, DataType.FLOAT32),
    current_a=_phases(0x0006, 2, _INPUT, DataType.FLOAT32),
    power_w=_phases(0x000C, 2, _INPUT, DataType.FLOAT32),
)

# Carlo Gavazzi EM24-DIN Communication Protocol, table 2.3-1 "instantaneous variables and
# meters" (INT32; section 2.1: word order LSW -> MSW; weights V x10, A x1000, W x10). The
# document allows function codes 03 and 04 for these; 04 is used here. Its overflow mark (most
# significant word 7FFFh) is not special-cased: it decodes to millions of amperes, which errs on
# the safe side (over limit) for fuse protection.
CARLO_GAVAZZI_EM24 = RegisterMap(
    name="carlo_gavazzi_em24",
    source="Carlo Gavazzi EM24-DIN Communication Protocol, instantaneous variables table",
    voltage_v=_phases(0x0000, 2, _INPUT, DataType.INT32, word_order=WordOrder.LITTLE, scale=0.1),
    current_a=_phases(0x000C, 2, _INPUT, DataType.INT32, word_order=WordOrder.LITTLE, scale=0.001),
    power_w=_phases(0x0012, 2, _INPUT, DataType.INT32, word_order=WordOrder.LITTLE, scale=0.1),
)

# ABB B23/B24 User Manual (2CMC485003M0201), "Communication with Modbus", instantaneous values
# at 5B00h.. (holding registers, function code 03, high word first): voltage uint32 in 0.1 V,
# current uint32 in 0.01 A, active power in 0.01 W. Power is read as signed 32-bit: it turns
# negative on export, and the worked example of the same 5B00h block in the ABB A43/A44 manual
# (same meter family) decodes its power registers as signed. One third-party register list
# shows B23 power as unsigned; check on a real meter if you export.
ABB_B23_B24 = RegisterMap(
    name="abb_b23_b24",
    source="ABB B23/B24 User Manual 2CMC485003M0201, Communication with Modbus, 5B00h",
    voltage_v=_phases(0x5B00, 2, _HOLDING, DataType.UINT32, word_order=WordOrder.BIG, scale=0.1),
    current_a=_phases(0x5B0C, 2, _HOLDING, DataType.UINT32, word_order=WordOrder.BIG, scale=0.01),
    power_w=_phases(0x5B16, 2, _HOLDING, DataType.INT32, word_order=WordOrder.BIG, scale=0.01),
)

# Janitza UMG 604 Modbus address list, "frequently required readings" (float, function code 03,
# high word first): _ULN[0..2] at 19000, _ILN[0..2] at 19012, _PLN[0..2] at 19020. The same
# block is documented for the UMG 104 and 96 series; the UMG 604 list was not available to
# check word by word, so treat it as the common Janitza layout.
JANITZA_UMG604 = RegisterMap(
    name="janitza_umg604",
    source="Janitza UMG 604 Modbus address list, frequently required readings (19000..)",
    voltage_v=_phases(19000, 2, _HOLDING, DataType.FLOAT32),
    current_a=_phases(19012, 2, _HOLDING, DataType.FLOAT32),
    power_w=_phases(19020, 2, _HOLDING, DataType.FLOAT32),
)

SUNSPEC_DEFAULT_MODEL_ADDRESS = 40069
"""Where a standalone SunSpec meter usually puts its meter model: "SunS" at 40000, the common
model (ID 1, length 65) at 40002, so the next model's ID register at 40069. Devices that add
other models first (inverters with a meter attached) need `sunspec_model_address` set."""

# Offsets inside SunSpec meter models 201 (single phase), 202 (split phase), 203 (wye) and 204
# (delta), counted from the model's ID register (ID, L, then the points): SunSpec Information
# Model Reference, models 201-204 (int16 points with sunssf scale factors).
_SUNSPEC_CURRENT_OFFSETS = (3, 4, 5)
_SUNSPEC_CURRENT_SF_OFFSET = 6
_SUNSPEC_VOLTAGE_OFFSETS = (8, 9, 10)  # PhVphA..C, line to neutral
_SUNSPEC_VOLTAGE_SF_OFFSET = 15
_SUNSPEC_POWER_OFFSETS = (19, 20, 21)  # WphA..C
_SUNSPEC_POWER_SF_OFFSET = 22
_SUNSPEC_PHASES_MEASURED = {201: 1, 202: 2, 203: 3, 204: 3}


def _sunspec_phases(
    model_address: int, offsets: tuple[int, int, int], sf_offset: int, phase_count: int
) -> PhaseRegisters:
    registers = [
        Register(
            model_address + offset,
            _HOLDING,
            DataType.INT16,
            scale_factor_address=model_address + sf_offset,
            sunspec=True,
        )
        for offset in offsets[:phase_count]
    ]
    padded: list[Register | None] = [*registers, None, None, None]
    return (padded[0], padded[1], padded[2])


def sunspec_meter_map(
    model_id: int, model_address: int = SUNSPEC_DEFAULT_MODEL_ADDRESS
) -> RegisterMap:
    """The map of SunSpec meter model 201 to 204 whose ID register sits at `model_address`.

    A delta meter (204) has no neutral: its line-to-neutral voltages are usually "not
    implemented", which the poller turns into "no voltage" rather than a fault.
    """
    phases = _SUNSPEC_PHASES_MEASURED[model_id]
    return RegisterMap(
        name=f"sunspec_{model_id}",
        source=f"SunSpec Information Model Reference, meter model {model_id}",
        current_a=_sunspec_phases(
            model_address, _SUNSPEC_CURRENT_OFFSETS, _SUNSPEC_CURRENT_SF_OFFSET, phases
        ),
        voltage_v=_sunspec_phases(
            model_address, _SUNSPEC_VOLTAGE_OFFSETS, _SUNSPEC_VOLTAGE_SF_OFFSET, phases
        ),
        power_w=_sunspec_phases(
            model_address, _SUNSPEC_POWER_OFFSETS, _SUNSPEC_POWER_SF_OFFSET, phases
        ),
    )


BUILT_IN_MAPS: dict[str, RegisterMap] = {
    register_map.name: register_map
    for register_map in (
        EASTRON_SDM630,
        CARLO_GAVAZZI_EM24,
        ABB_B23_B24,
        JANITZA_UMG604,
        *(sunspec_meter_map(model_id) for model_id in (201, 202, 203, 204)),
    )
}
"""Built-in maps by the name a configuration uses (`model: eastron_sdm630`)."""
