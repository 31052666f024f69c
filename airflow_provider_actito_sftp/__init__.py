"""Apache Airflow provider for file exchange with a partner's SFTP server (Actito-style integration)."""

from __future__ import annotations

import warnings

from airflow_provider_actito_sftp.get_provider_info import VERSION, get_provider_info

__version__ = VERSION
__all__ = ["__version__", "get_provider_info"]

# cryptography 51 deprecates DSA, and asyncssh's crypto modules name DSA types at import: five
# CryptographyDeprecationWarning lines on every command that connects, about keys this provider never uses (it
# offers and accepts no DSA key). Silenced precisely: that message, from those modules, nothing else.
DSA_DEPRECATION = r"DSA is deprecated"
DSA_NAMING_MODULES = r"asyncssh\.crypto\."
warnings.filterwarnings("ignore", message=DSA_DEPRECATION, module=DSA_NAMING_MODULES)
