# syntax=docker/dockerfile:1
# Build: docker build -t stratum-proxy .
# Run:   docker run -p 3333:3333 -p 127.0.0.1:9100:9100 -v "$PWD/appsettings.json:/app/appsettings.json:ro" stratum-proxy
# With Prometheus and Grafana: docker compose up -d --build (docker-compose.yml).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig appsettings.json ./
COPY config/ config/
COPY src/ src/
RUN dotnet publish src/StratumProxy/StratumProxy.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# libssl3 backs the fast SHA-256 path; tzdata the time-of-use tariffs. Both are in the Debian-based base image.
WORKDIR /app
COPY --from=build /app ./
# The audit log and the energy ledger live in /app/data (mount a volume there to keep them).
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
VOLUME /app/data
EXPOSE 3333 9100
# The admin endpoint defaults to loopback; in a container it must listen on every interface to be reached at all.
# It has no authentication: publish it only where the operator's network is trusted.
ENV STRATUMPROXY_Admin__Endpoint=0.0.0.0:9100
USER $APP_UID
# The working directory holds the operator's appsettings.json when mounted; the embedded default applies otherwise.
ENTRYPOINT ["./stratum-proxy"]
