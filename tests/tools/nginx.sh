#!/bin/sh
# A throw-away WebDAV server for the publish and browser tests: Debian's
# nginx with its dav module and libnginx-mod-http-dav-ext, its own prefix,
# config, pid and logs in DIR, listening on a free port of 127.0.0.1 only.
# It never touches a system nginx (port 80, /etc/nginx, /var/log/nginx).
#
#   tests/tools/nginx.sh start DIR [USER PASSWORD [TOKEN]]
#       writes DIR/nginx.conf and starts nginx; prints the port, also kept
#       in DIR/port.  The same server answers HTTPS on DIR/tls_port with a
#       self-signed certificate for 127.0.0.1 (DIR/cert.pem, its own CA).
#       Locations (the files live in DIR/www):
#         /dav/      WebDAV, no authentication
#         /private/  WebDAV behind basic auth (USER, PASSWORD; htpasswd made
#                    with openssl passwd -apr1)
#         /token/    WebDAV that wants "Authorization: Bearer TOKEN"
#         /fail/     always 503
#         /hostile/  answers PROPFIND with a fixed listing of hostile names
#                    (../, %2F, dotfiles, an absolute URL); GET serves files
#         /notdav/   answers PROPFIND with 207 and a body that is not XML
#       DIR/access.log has one line per request: "METHOD URI STATUS".
#       A watchdog stops nginx after $NGINX_MAX_SECONDS (default 900) even if
#       the caller dies without running 'stop'.
#   tests/tools/nginx.sh stop DIR
#   tests/tools/nginx.sh available   exit 0 when nginx and the module are there
set -u

find_module() {
	for d in /usr/lib/nginx/modules /usr/share/nginx/modules; do
		if [ -f "$d/ngx_http_dav_ext_module.so" ]; then
			echo "$d/ngx_http_dav_ext_module.so"
			return 0
		fi
	done
	return 1
}

cmd=${1:-}
case $cmd in
available)
	command -v nginx >/dev/null 2>&1 || { echo "nginx is not installed (Debian: nginx)"; exit 1; }
	find_module >/dev/null || { echo "the WebDAV extension module is missing (Debian: libnginx-mod-http-dav-ext)"; exit 1; }
	exit 0
	;;
start) ;;
stop)
	dir=$2
	if [ -f "$dir/watchdog.pid" ]; then
		kill "$(cat "$dir/watchdog.pid")" 2>/dev/null
		rm -f "$dir/watchdog.pid"
	fi
	[ -f "$dir/nginx.pid" ] || exit 0
	pid=$(cat "$dir/nginx.pid")
	kill "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$dir/nginx.pid"
	exit 0
	;;
*)
	echo "usage: $0 start DIR [USER PASSWORD [TOKEN]] | stop DIR | available" >&2
	exit 2
	;;
esac

dir=$2
user=${3:-kvmqual}
password=${4:-}
token=${5:-}
module=$(find_module) || { echo "nginx.sh: libnginx-mod-http-dav-ext is not installed" >&2; exit 1; }
tcp_listen=$(dirname "$0")/../../${KVMQUAL_TEST_BUILD:-build}/tests/tcp_listen
[ -x "$tcp_listen" ] || { echo "nginx.sh: build/tests/tcp_listen is not built (make build/tests/tcp_listen)" >&2; exit 1; }
mkdir -p "$dir/www/dav" "$dir/www/private" "$dir/www/token" "$dir/www/fail" "$dir/www/hostile" "$dir/tmp"
dir=$(cd "$dir" && pwd)
if [ ! -f "$dir/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" \
		>"$dir/openssl.log" 2>&1 || { echo "nginx.sh: openssl could not make a certificate" >&2; exit 1; }
fi
# An unguessable default keeps the private location closed when no
# password was asked for.
[ -n "$password" ] || password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
[ -n "$token" ] || token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" >"$dir/htpasswd"
# The master runs as root here; the workers must reach files under a 0700
# temporary directory, so they keep root's identity.
if [ "$(id -u)" -eq 0 ]; then user_line="user root root;"; else user_line=""; fi

dav='dav_methods PUT DELETE MKCOL COPY MOVE;
			dav_ext_methods PROPFIND OPTIONS;
			create_full_put_path on;
			dav_access user:rw group:r all:r;'
attempt=0
while :; do
	attempt=$((attempt + 1))
	port=$("$tcp_listen" free-port) || exit 1
	tls_port=$("$tcp_listen" free-port) || exit 1
	[ "$tls_port" != "$port" ] || continue
	cat >"$dir/nginx.conf" <<EOF
load_module $module;
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 64; }
http {
	types {
		text/html html;
		text/css css;
		text/plain txt md;
		text/csv csv;
		application/json json;
		image/svg+xml svg;
		image/png png;
	}
	default_type application/octet-stream;
	log_format plain '\$request_method \$uri \$status';
	access_log $dir/access.log plain;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	client_max_body_size 256m;
	server {
		listen 127.0.0.1:$port;
		listen 127.0.0.1:$tls_port ssl;
		ssl_certificate $dir/cert.pem;
		ssl_certificate_key $dir/key.pem;
		server_name localhost;
		root $dir/www;
		location /dav/ {
			$dav
		}
		location /private/ {
			auth_basic "kvmqual test";
			auth_basic_user_file $dir/htpasswd;
			$dav
		}
		location /token/ {
			if (\$http_authorization != "Bearer $token") {
				return 401;
			}
			$dav
		}
		location /fail/ {
			return 503;
		}
		location /hostile/ {
			if (\$request_method = PROPFIND) {
				return 207 '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">
<D:response><D:href>/hostile/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
<D:response><D:href>/hostile/good.json</D:href></D:response>
<D:response><D:href>http://elsewhere.invalid/hostile/also%20good.json</D:href></D:response>
<D:response><D:href>/hostile/../../escape.json</D:href></D:response>
<D:response><D:href>/hostile/..%2F..%2Fescape2.json</D:href></D:response>
<D:response><D:href>/hostile/.in-flight.json</D:href></D:response>
<D:response><D:href>/hostile/sub/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
<D:response><D:href>/hostile/dir.json</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
<D:response><D:href>/hostile/notes.txt</D:href></D:response>
</D:multistatus>';
			}
		}
		location /notdav/ {
			if (\$request_method = PROPFIND) {
				return 207 '<html><body>not a multistatus</body></html>';
			}
		}
	}
}
EOF
	rm -f "$dir/nginx.pid"
	if nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/start.log"; then
		break
	fi
	if [ $attempt -ge 5 ] || ! grep -q 'Address already in use' "$dir/error.log" "$dir/start.log" 2>/dev/null; then
		echo "nginx.sh: nginx did not start:" >&2
		tail -5 "$dir/error.log" "$dir/start.log" >&2 2>/dev/null
		exit 1
	fi
done
# nginx daemonises; wait for its pid file and for the port to answer.
i=0
while [ ! -s "$dir/nginx.pid" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s "$dir/nginx.pid" ] || { echo "nginx.sh: nginx wrote no pid file" >&2; exit 1; }
echo "$port" >"$dir/port"
echo "$tls_port" >"$dir/tls_port"
# The watchdog holds none of the caller's descriptors, so a pipe reading
# the test's output is not kept open by it.
max=${NGINX_MAX_SECONDS:-900}
nginx_pid=$(cat "$dir/nginx.pid")
(
	sleep "$max" &
	sleeper=$!
	trap 'kill $sleeper; exit 0' TERM
	wait $sleeper
	kill "$nginx_pid" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
echo $! >"$dir/watchdog.pid"
echo "$port"
