/* dothi-edit.h: editing a project: a change set (insert, update, delete of
 * features in any layers) applied as one action, and undo, redo and revert
 * as compensating actions in the one append-only history of the project
 * (DESIGN.md §2). Every call here is one transaction: on any error the
 * project is as it was. Calls run on the thread that owns @project; the
 * _async variants open their own connection. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "dothi-project.h"
#include "dothi-types.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_CHANGE_INSERT,
  DOTHI_CHANGE_UPDATE,
  DOTHI_CHANGE_DELETE,
} DothiChangeOp;

typedef struct {
  DothiChangeOp  op;
  char          *layer;       /* table name */
  gint64         fid;         /* update, delete; -1 for an insert */
  JsonObject    *properties;  /* field → value (null for NULL); for an update
                                 only the fields listed change; may be NULL */
  GBytes        *wkb;         /* ISO WKB in the layer CRS; for an update NULL
                                 keeps the geometry; an insert may have none */
} DothiFeatureChange;

typedef struct _DothiChangeSet DothiChangeSet;

DothiChangeSet *dothi_change_set_new    (void);
void            dothi_change_set_free   (DothiChangeSet *set);
/* Ownership: @properties and @wkb are referenced. */
void            dothi_change_set_insert (DothiChangeSet *set,
                                         const char     *layer,
                                         JsonObject     *properties,
                                         GBytes         *wkb);
void            dothi_change_set_update (DothiChangeSet *set,
                                         const char     *layer,
                                         gint64          fid,
                                         JsonObject     *properties,
                                         GBytes         *wkb);
void            dothi_change_set_delete (DothiChangeSet *set,
                                         const char     *layer,
                                         gint64          fid);
guint           dothi_change_set_get_n_changes (DothiChangeSet *set);
const DothiFeatureChange *dothi_change_set_get_change (DothiChangeSet *set,
                                                       guint           index);

/* A GeoJSON FeatureCollection as a change set. Each feature's "id" is its
 * fid (absent for an insert); foreign members "dothi:op" ("insert",
 * "update", "delete"; default insert without an id, update with one) and
 * "dothi:layer" (default @layer). Geometries are in the layer CRS unless
 * the collection names another "crs" (then transformed with PROJ).
 * DOTHI_ERROR_INVALID_DATA names the feature on malformed input. */
DothiChangeSet *dothi_change_set_new_from_geojson (const char  *text,
                                                   gssize       length,
                                                   const char  *layer,
                                                   GError     **error);

/* Applies @set as one action named @label (translated, shown in the
 * history): every change is checked first against the project (layer,
 * fields and their types, geometry kind, SRID, dimension and validity) and
 * the whole set is refused, naming the feature and field, on the first bad
 * one; then BEGIN IMMEDIATE, the writes (the audit triggers record them),
 * COMMIT. A write lock held by another program is waited for a bounded
 * time, then DOTHI_ERROR_BUSY. Clears redo. Returns the action id (> 0), or
 * 0 with @error; *@new_fids (may be NULL) gets the fids of the inserts in
 * order (GArray of gint64). */
gint64   dothi_edit_apply_sync   (DothiProject       *project,
                                  DothiChangeSet     *set,
                                  const char         *label,
                                  GArray            **new_fids,
                                  GCancellable       *cancellable,
                                  DothiProgressFunc   progress,
                                  gpointer            progress_data,
                                  GError            **error);

/* What undo and redo would do now: the label of that action, or NULL. */
char    *dothi_edit_dup_undo_label (DothiProject *project);
char    *dothi_edit_dup_redo_label (DothiProject *project);

/* Undo: a new action applying the before-images of the newest action not
 * yet undone, only where each row still equals its after-image; otherwise
 * DOTHI_ERROR_CONFLICT naming the layer and feature, and nothing changes.
 * DOTHI_ERROR_NOTHING when there is nothing to undo. Returns the new
 * action's id. Works the same after a restart: the history is the file.
 * Layer and field actions (dothi_project_add_field() and the like) are
 * undone from their journal. An import is undone by moving its layers out
 * of sight, into hidden "dothi_trash_<action>_<name>" tables that redo
 * renames back; DOTHI_ERROR_CONFLICT naming the layer when it has been
 * edited since (edits undone since do not count). */
gint64   dothi_edit_undo_sync    (DothiProject  *project,
                                  GCancellable  *cancellable,
                                  GError       **error);
/* Redo: compensates the newest undo, unless an action came after it. */
gint64   dothi_edit_redo_sync    (DothiProject  *project,
                                  GCancellable  *cancellable,
                                  GError       **error);
/* Reverts any past action @action_id, when nothing later conflicts. */
gint64   dothi_edit_revert_sync  (DothiProject  *project,
                                  gint64         action_id,
                                  GCancellable  *cancellable,
                                  GError       **error);

/* ---- the audit trail ------------------------------------------------- */

typedef struct {
  gint64  id;
  char   *time;        /* ISO 8601 UTC */
  char   *user;
  char   *label;
  gint64  undo_of;     /* the action this one compensates, or 0 */
  guint   n_features;  /* audit rows */
  char  **layers;      /* NULL-terminated table names it touched */
  gboolean undone;     /* compensated by a later action */
} DothiActionInfo;

void dothi_action_info_free (DothiActionInfo *info);

/* Actions newest first, @offset then at most @limit. Edits made by other
 * programs appear as one entry per run of "external" rows (id 0, user
 * "external"). */
GPtrArray *dothi_audit_list_actions (DothiProject  *project,
                                     guint          offset,
                                     guint          limit,
                                     GError       **error);

typedef struct {
  gint64  audit_id;
  gint64  action_id;   /* 0 for an external edit */
  char   *time;
  char   *user;
  char   *op;          /* "insert", "update", "delete", "import" */
  char   *before_attrs;  /* JSON object, or NULL */
  char   *after_attrs;
  GBytes *before_wkb;    /* ISO WKB, or NULL */
  GBytes *after_wkb;
} DothiFeatureEvent;

void dothi_feature_event_free (DothiFeatureEvent *event);

/* The history of one feature, oldest first. */
GPtrArray *dothi_audit_feature_history (DothiProject  *project,
                                        const char    *layer,
                                        gint64         fid,
                                        GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiChangeSet, dothi_change_set_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiActionInfo, dothi_action_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiFeatureEvent, dothi_feature_event_free)

G_END_DECLS
