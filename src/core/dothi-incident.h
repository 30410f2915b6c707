/* dothi-incident.h: citizens' incident reports ("phản ánh hiện trường")
 * as a point layer "incidents" of the project, with their workflow:
 * received → assigned → in progress → resolved → published (Đã tiếp nhận,
 * Đã giao xử lý, Đang xử lý, Đã xử lý, Đã công khai), the time each status
 * was reached, the unit assigned and notes; every change an audited edit
 * (DESIGN.md §6 Live). */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_INCIDENT_RECEIVED,
  DOTHI_INCIDENT_ASSIGNED,
  DOTHI_INCIDENT_IN_PROGRESS,
  DOTHI_INCIDENT_RESOLVED,
  DOTHI_INCIDENT_PUBLISHED,
} DothiIncidentStatus;

#define DOTHI_N_INCIDENT_STATUSES 5

/* "received"… and the Vietnamese label "Đã tiếp nhận"… (data, not UI). */
const char *dothi_incident_status_to_string (DothiIncidentStatus status);
const char *dothi_incident_status_label     (DothiIncidentStatus status);
gboolean    dothi_incident_status_from_string (const char *text, DothiIncidentStatus *status);

/* Creates the layer "incidents" (points in the project CRS) when missing,
 * as an imported layer is made (registry row titled "Phản ánh hiện
 * trường", R-tree, audit triggers; one action "Add layer …" in the
 * history, with one "import" audit row), with fields: report_id (unique
 * index), received_at, category, description, photo_url, reporter,
 * status (text: "received"…), unit, notes, and the time each status was
 * reached (assigned_at, in_progress_at, resolved_at, published_at), ISO
 * 8601 with offset. One transaction. Nothing to do when the layer is
 * there (also on a read-only project); DOTHI_ERROR_READ_ONLY when it must
 * be made on a read-only one, DOTHI_ERROR_INVALID_DATA when a layer of
 * that name lacks a field. Runs on the thread that owns @project. */
gboolean    dothi_incident_ensure_layer (DothiProject *project, GError **error);

typedef struct {
  gint64              fid;
  char               *report_id;
  char               *category;
  char               *description;
  char               *photo_url;
  char               *reporter;
  char               *received_at;
  DothiIncidentStatus status;
  char               *status_at[DOTHI_N_INCIDENT_STATUSES];  /* NULL: not reached;
                                                                [RECEIVED] is received_at */
  char               *unit;
  char               *notes;       /* "dd/mm/yyyy HH:MM — note" lines, oldest first */
  double              x, y;        /* layer (project) CRS; NAN without a position */
} DothiIncident;

void           dothi_incident_free (DothiIncident *incident);
/* Both read on a read-only connection of their own (any thread).
 * Incidents (DothiIncident*), newest first by received_at; @status < 0
 * for all. A project without the layer has none (an empty array). */
GPtrArray     *dothi_incident_list (const char *path, int status, GError **error);
/* DOTHI_ERROR_NOT_FOUND for an unknown fid or a project without the layer. */
DothiIncident *dothi_incident_get  (const char *path, gint64 fid, GError **error);

/* Moves @fid to @status (only forward, one step or more; back to an
 * earlier status is DOTHI_ERROR_INVALID_DATA naming both in Vietnamese),
 * setting the time reached (now, in ICT +07:00; a skipped status keeps no
 * time), @unit (may be NULL: kept; meant for assigning, written with any
 * move), appending @note (may be NULL) as a "dd/mm/yyyy HH:MM — note"
 * line: one audited edit through dothi_edit_apply_sync() labelled "Sự cố
 * PA-2026-0042: Đã giao xử lý" (data, Vietnamese), undone by
 * dothi_edit_undo_sync(). The same status again only writes @unit and
 * @note; with neither it is DOTHI_ERROR_NOTHING. Returns the action id
 * or 0. Runs on the thread that owns @project. */
gint64         dothi_incident_set_status (DothiProject        *project,
                                          gint64               fid,
                                          DothiIncidentStatus  status,
                                          const char          *unit,
                                          const char          *note,
                                          GError             **error);

/* The assets near an incident: for each polygon or point or line layer
 * of the project (other than incidents) within @radius metres, the
 * nearest features (at most @per_layer each; 0 for no limit) with their
 * exact distance (0 inside a polygon), found through each layer's R-tree;
 * a line layer named like pipes (water_mains, pipes, *_ong_*, a title
 * with "ống") also gets "the pipe it sits on" (its nearest within 10 m,
 * even beyond @radius), which comes first; the rest by distance. Each
 * entry: layer, fid, distance (in the layer CRS's units: metres in
 * VN-2000), a label (never NULL: "Thửa 345, tờ 12" for parcels, else a
 * ma_* code, a ten* name, name or id, else the fid). Reads on a read-only
 * connection of its own (any thread). DothiNearAsset* elements. */
typedef struct {
  char   *layer;
  gint64  fid;
  double  distance;
  char   *label;
} DothiNearAsset;

void       dothi_near_asset_free (DothiNearAsset *asset);
GPtrArray *dothi_incident_near_assets (const char *path, gint64 fid, double radius,
                                       guint per_layer, GError **error);

G_END_DECLS
