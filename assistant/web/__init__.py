"""The web product: the staff chat (`/`) and the officers' console (`/officer`), one FastAPI app.

Gradio reads these variables when it is imported, so they are set here, before any page module
imports it: no usage analytics leave the machine, and no run history is kept in browsers.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("GRADIO_RUN_HISTORY", "False")
