"""Errors of the core layer: input that cannot be used as it is.

CoreError (AppError, exit 2)
 +-- TemplateError    a connection template that is not what Opus lets users download
 +-- SheetError       a workbook or CSV file that cannot be read
 +-- MappingError     a mapping file that is malformed or no longer fits the sheet
"""

from __future__ import annotations

from opus_desktop.errors import AppError


class CoreError(AppError):
    exit_code = 2


class TemplateError(CoreError):
    pass


class SheetError(CoreError):
    pass


class MappingError(CoreError):
    pass
