// libpq, PostgreSQL's C client library (Debian's libpq-dev), for the run store's PostgreSQL backend.
#include <libpq-fe.h>
