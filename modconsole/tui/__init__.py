"""The Textual console: one screen per role, fed by a link to the server.

``app`` (the App: the link, its workers, the notifications) imports the screens, ``moderator``,
``audience`` and ``login``; they open the ``dialogs``, draw ``widgets`` and ``bigfont`` with the words of
``figures`` and ``labels``, bind the keys of ``actions``, read the ``link`` they are given, and ask the App
for the rest with the ``messages`` they post. No module here but this one imports ``app``
(tests/console/test_tui_modules.py).
"""

from .app import ConsoleApp, create_app
from .link import CannedLink, LiveLink

__all__ = ["CannedLink", "ConsoleApp", "LiveLink", "create_app"]
