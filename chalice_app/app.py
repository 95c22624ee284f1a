"""CivicBridge HTTP API (Chalice): the blueprints, one per audience (chalicelib/routes/, chalicelib/open311/).

Routes parse the request with chalicelib.http and chalicelib.schemas, call the core in `civic`, and shape
the answer; the core raises domain errors, which chalicelib.http turns into HTTP.
"""

from chalice import Chalice

from chalicelib.http import bind_app
from chalicelib.open311.routes import bp as open311
from chalicelib.routes import admin, citizen, exports, meta, notify, staff, stats

# configure_logs=False: Powertools owns the "civicbridge" logger (same name as the app).
app = Chalice(app_name="civicbridge", configure_logs=False)
app.api.binary_types.append("multipart/form-data")  # Open311 clients may POST the photo itself
bind_app(app)

for blueprint in (meta.bp, citizen.bp, staff.bp, admin.bp, notify.bp, stats.bp, exports.bp, open311):
    app.register_blueprint(blueprint)
