// Service pointers the server fills in when it loads the plugin. Debian's
// libmariadbd-dev has no libmysqlservices.a, so the plugin defines the ones
// it uses itself; the initial value is the service interface version the
// server checks (same major) before replacing it with its function table.
#include <mysql/plugin.h>
#include <mysql/service_my_print_error.h>

extern "C" {
__attribute__((visibility("default"))) struct my_print_error_service_st* my_print_error_service =
    reinterpret_cast<struct my_print_error_service_st*>(0x0100);
}
