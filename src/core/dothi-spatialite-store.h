/* dothi-spatialite-store.h: DothiStore on a SpatiaLite 5 file, the
 * embedded storage of a .dothi project. One connection, one thread. */
#pragma once

#include <sqlite3.h>
#include "dothi-store.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_SPATIALITE_STORE (dothi_spatialite_store_get_type ())
G_DECLARE_FINAL_TYPE (DothiSpatialiteStore, dothi_spatialite_store, DOTHI, SPATIALITE_STORE, GObject)

/* Bumped when the audit triggers image rows differently; a project
 * whose triggers are older gets them rewritten when it is opened. */
#define DOTHI_AUDIT_IMAGE_VERSION "2"

typedef enum {
  DOTHI_STORE_OPEN_READ_WRITE,
  DOTHI_STORE_OPEN_READ_ONLY,
  DOTHI_STORE_OPEN_CREATE,       /* a new file; an existing one is an error */
} DothiStoreOpenMode;

DothiSpatialiteStore *dothi_spatialite_store_open (const char          *path,
                                                   DothiStoreOpenMode   mode,
                                                   GError             **error);

/* Switches a file known to be a project to WAL with synchronous=FULL;
 * never done before that is known, so a user's other SQLite file is left
 * untouched. */
gboolean  dothi_spatialite_store_make_durable (DothiSpatialiteStore *self,
                                              GError              **error);

/* On a network file system (edit anyway): a rollback journal instead of
 * WAL, whose shared memory does not work there. */
gboolean  dothi_spatialite_store_make_durable_journal (DothiSpatialiteStore *self,
                                                      GError              **error);

/* The connection, for the project's own tables; borrowed. */
sqlite3  *dothi_spatialite_store_get_db (DothiSpatialiteStore *self);

/* Runs SQL without parameters (schema statements Dothi writes itself). */
gboolean  dothi_spatialite_store_exec   (DothiSpatialiteStore *self,
                                         const char           *sql,
                                         GError              **error);

/* Whether a plain index of @layer starts with @field: its complete
 * distinct values are then quick to read. */
gboolean  dothi_spatialite_store_field_indexed (DothiSpatialiteStore *self,
                                               const char           *layer,
                                               const char           *field);
/* Indexes @field of @layer (dothi_ix_<layer>_<field>) unless an index
 * starts with it already; inside an action or not. */
gboolean  dothi_spatialite_store_index_field (DothiSpatialiteStore *self,
                                             const char           *layer,
                                             const char           *field,
                                             GError              **error);

/* The default style of @info (dothi_style_new_default): a sample of
 * each text field's values tells a land-use or zoning field
 * (dothi_store_sample_default_style), then every value of the field it
 * classifies by, when an index makes that quick (import makes one), so a
 * class that only appears deep in a city's table (the rice fields of an
 * outer commune) has its colour and legend row too. */
DothiStyle *dothi_spatialite_store_default_style (DothiSpatialiteStore *self,
                                                  const DothiLayerInfo *info);

/* Makes sure spatial_ref_sys has EPSG @srid, from SpatiaLite's own EPSG
 * table or else from PROJ's definition. */
gboolean  dothi_spatialite_store_ensure_srid (DothiSpatialiteStore *self,
                                              int                   srid,
                                              GError              **error);

/* Re-creates the audit triggers of every layer from PRAGMA table_info, so a
 * column added by another program is audited too. */
gboolean  dothi_spatialite_store_regenerate_triggers (DothiSpatialiteStore *self,
                                                      GError              **error);

/* How long a write waits for another connection's lock before
 * dothi_store_begin() gives DOTHI_ERROR_BUSY (5 s by default). */
void      dothi_spatialite_store_set_busy_timeout (DothiSpatialiteStore *self,
                                                   int                   ms);

/* Inside an action: the dothi_actions id of the open action (0 outside). */
gint64    dothi_spatialite_store_get_action_id (DothiSpatialiteStore *self);
/* Inside an action: records what the action compensates (@undo_of, 0 for
 * none) and its journal entry @inverse (JSON) in dothi_actions. */
gboolean  dothi_spatialite_store_set_action_journal (DothiSpatialiteStore  *self,
                                                     gint64                 undo_of,
                                                     const char            *inverse,
                                                     GError               **error);

/* What the audit triggers of @table image, from PRAGMA table_info as they
 * were written: the attribute columns (char*, all but fid and geom),
 * whether each is a BLOB (imaged as hex(); gboolean), the SQL expression
 * of the JSON image of a row aliased "t", and whether the table has "geom".
 * Each out argument may be NULL. */
gboolean  dothi_spatialite_store_get_image_columns (DothiSpatialiteStore  *self,
                                                    const char            *table,
                                                    GPtrArray            **columns,
                                                    GArray               **is_blob,
                                                    char                 **image_sql,
                                                    gboolean              *has_geom,
                                                    GError               **error);

/* ---- undoable layer and field actions (DESIGN.md §2) -------------------
 * Inside an action, each keeps SpatiaLite's metadata and the audit
 * triggers (regenerated from PRAGMA table_info) consistent; the caller
 * journals the inverse. */

/* Whether @table has a column @column (in any case). */
gboolean  dothi_spatialite_store_has_column (DothiSpatialiteStore *self,
                                             const char           *table,
                                             const char           *column);
/* Whether a table @table exists (layer or not). */
gboolean  dothi_spatialite_store_table_exists (DothiSpatialiteStore *self,
                                               const char           *table);
/* ADD COLUMN @name (a slug, not reserved, not already there; else
 * DOTHI_ERROR_INVALID_DATA or DOTHI_ERROR_EXISTS) to layer @layer. */
gboolean  dothi_spatialite_store_add_field (DothiSpatialiteStore  *self,
                                            const char            *layer,
                                            const char            *name,
                                            DothiFieldType         type,
                                            GError               **error);
/* DROP COLUMN @name of @layer; first its non-NULL values go to a new
 * table @trash (fid, value), unless @trash is NULL. An indexed field is
 * DOTHI_ERROR_UNSUPPORTED. */
gboolean  dothi_spatialite_store_remove_field (DothiSpatialiteStore  *self,
                                               const char            *layer,
                                               const char            *name,
                                               const char            *trash,
                                               GError               **error);
/* Adds @name back (at the end of the table) with the values kept in
 * @trash (may be NULL), then drops @trash; writes no audit rows. */
gboolean  dothi_spatialite_store_restore_field (DothiSpatialiteStore  *self,
                                                const char            *layer,
                                                const char            *name,
                                                DothiFieldType         type,
                                                const char            *trash,
                                                GError               **error);
/* The registry rows of @layer as JSON: {"layer": {...}, "fields": [...]}. */
char     *dothi_spatialite_store_dup_registry (DothiSpatialiteStore  *self,
                                               const char            *layer,
                                               GError               **error);
/* Moves layer @layer out of sight: renamed to @trash (a reserved
 * "dothi_" name) with SpatiaLite's RenameTable(), its registry rows
 * removed (take them first with dothi_spatialite_store_dup_registry()). */
gboolean  dothi_spatialite_store_hide_layer (DothiSpatialiteStore  *self,
                                             const char            *layer,
                                             const char            *trash,
                                             GError               **error);
/* Brings a hidden layer back as @layer with its @registry rows. */
gboolean  dothi_spatialite_store_unhide_layer (DothiSpatialiteStore  *self,
                                               const char            *trash,
                                               const char            *layer,
                                               const char            *registry,
                                               GError               **error);

/* Creates one of Dothi's own tables (@ddl) on @db, inside the
 * transaction the caller holds, unless @table exists. Dothi's DDL is not
 * another program's schema change: when the recorded schema cookie was
 * current it is brought forward, so the next open does not rewrite every
 * audit trigger. Errors name @path. */
gboolean  dothi_spatialite_ensure_own_table (sqlite3    *db,
                                             const char *table,
                                             const char *ddl,
                                             const char *path,
                                             GError    **error);

void      dothi_spatialite_store_close  (DothiSpatialiteStore *self);

G_END_DECLS
