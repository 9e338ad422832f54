"""Operations announced for the platform but not yet in its OpenAPI document.

The drift test fails as soon as the document has one of them: then run
``npm run -s sdk:generate`` and delete its entry here. Nothing is announced now.
"""

from typing import Dict, Tuple

PENDING_OPERATIONS: Dict[str, Tuple[str, str]] = {}
