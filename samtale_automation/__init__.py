"""samtale: medarbeidersamtaler from one Excel workbook and Outlook.

The importable API: read a master workbook, plan changes as ChangeSets, apply them safely.
"""

__version__ = "0.1.0"
