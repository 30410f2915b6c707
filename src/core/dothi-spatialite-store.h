/* dothi-spatialite-store.h: DothiStore on a SpatiaLite 5 file, the
 * embedded storage of a .dothi project. One connection, one thread. */
#pragma once

#include <sqlite3.h>
#include "dothi-store.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_SPATIALITE_STORE (dothi_spatialite_store_get_type ())
G_DECLARE_FINAL_TYPE (DothiSpatialiteStore, dothi_spatialite_store, DOTHI, SPATIALITE_STORE, GObject)

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

/* The connection, for the project's own tables; borrowed. */
sqlite3  *dothi_spatialite_store_get_db (DothiSpatialiteStore *self);

/* Runs SQL without parameters (schema statements Dothi writes itself). */
gboolean  dothi_spatialite_store_exec   (DothiSpatialiteStore *self,
                                         const char           *sql,
                                         GError              **error);

/* Makes sure spatial_ref_sys has EPSG @srid, from SpatiaLite's own EPSG
 * table or else from PROJ's definition. */
gboolean  dothi_spatialite_store_ensure_srid (DothiSpatialiteStore *self,
                                              int                   srid,
                                              GError              **error);

/* Re-creates the audit triggers of every layer from PRAGMA table_info, so a
 * column added by another program is audited too. */
gboolean  dothi_spatialite_store_regenerate_triggers (DothiSpatialiteStore *self,
                                                      GError              **error);

void      dothi_spatialite_store_close  (DothiSpatialiteStore *self);

G_END_DECLS
