"""The multilingual texts of the demo data (Catalan, Spanish, Aranese Occitan and English).

Kept apart from `finestreta.lib.demo_data`, which only says what exists and how it is linked.
Paragraphs are written across several lines here; `tr` joins them into single-spaced text.
"""

from __future__ import annotations

from dataclasses import dataclass

# The interface languages, as in settings.LANGUAGES; every text below has all four.
LANGS = ("ca", "es", "oc", "en")

Translations = dict[str, str]


def tr(ca: str, es: str, oc: str, en: str) -> Translations:
    """One text in the four languages, each with its whitespace collapsed to single spaces."""
    return {
        lang: " ".join(text.split()) for lang, text in zip(LANGS, (ca, es, oc, en), strict=True)
    }


def lines(ca: list[str], es: list[str], oc: list[str], en: list[str]) -> Translations:
    """A list (one item per line, as documents_to_prepare expects) in the four languages."""
    return {lang: "\n".join(items) for lang, items in zip(LANGS, (ca, es, oc, en), strict=True)}


@dataclass(frozen=True)
class OrganisationText:
    name: Translations
    privacy_notice: Translations
    accessibility_statement: Translations


@dataclass(frozen=True)
class ServiceText:
    name: Translations
    description: Translations
    documents_to_prepare: Translations


ORGANISATION_TEXTS: dict[str, OrganisationText] = {
    "generalitat": OrganisationText(
        name=tr(
            "Generalitat de Catalunya",
            "Generalitat de Cataluña",
            "Generalitat de Catalonha",
            "Government of Catalonia",
        ),
        privacy_notice=tr(
            """La Generalitat de Catalunya tracta les vostres dades personals només per gestionar
            la cita i l'atenció per videotrucada. No enregistrem les videotrucades. Conservem les
            dades el temps necessari per complir les obligacions legals i no les cedim a tercers,
            tret que una llei ho exigeixi. Podeu exercir els drets d'accés, rectificació,
            supressió, oposició i limitació escrivint a atencio@gencat.example.""",
            """La Generalitat de Catalunya trata sus datos personales solo para gestionar la cita
            y la atención por videollamada. No grabamos las videollamadas. Conservamos los datos
            el tiempo necesario para cumplir las obligaciones legales y no los cedemos a terceros,
            salvo que una ley lo exija. Puede ejercer los derechos de acceso, rectificación,
            supresión, oposición y limitación escribiendo a atencio@gencat.example.""",
            """Era Generalitat de Catalonha tracte es vòstes donades personaus sonque entà
            gestionar era cita e era atencion per videotrucada. Non enregistram es videotrucades.
            Conservam es donades eth temps de besonh entà complir es obligacions legaus e non les
            cedim ad auti organismes, sauf se ua lei ac exigís. Podetz exercir es drets d'accès,
            rectificacion, supression, oposicion e limitacion en escríuer a
            atencio@gencat.example.""",
            """The Government of Catalonia processes your personal data only to manage your
            appointment and the video call. We do not record video calls. We keep the data for as
            long as the law requires and do not pass it on to third parties unless a law demands
            it. You can exercise your rights of access, rectification, erasure, objection and
            restriction by writing to atencio@gencat.example.""",
        ),
        accessibility_statement=tr(
            """La Generalitat de Catalunya es compromet a fer accessible aquest servei, d'acord amb
            el Reial decret 1112/2018 i la norma EN 301 549. El servei compleix el nivell AA de les
            WCAG 2.1: es pot fer servir amb el teclat i amb lector de pantalla, i té un contrast
            suficient. Podeu demanar atenció en llengua de signes catalana. Si trobeu cap barrera,
            escriviu a atencio@gencat.example o truqueu al 012; us respondrem en un mes com a
            màxim.""",
            """La Generalitat de Catalunya se compromete a hacer accesible este servicio, de
            acuerdo con el Real Decreto 1112/2018 y la norma EN 301 549. El servicio cumple el
            nivel AA de las WCAG 2.1: se puede usar con el teclado y con lector de pantalla, y
            tiene un contraste suficiente. Puede pedir atención en lengua de signos catalana. Si
            encuentra alguna barrera, escriba a atencio@gencat.example o llame al 012; le
            responderemos en un mes como máximo.""",
            """Era Generalitat de Catalonha se compromet a hèr accessible aguest servici, d'acòrd
            damb eth Reiau decret 1112/2018 e era nòrma EN 301 549. Eth servici complís eth nivèu
            AA des WCAG 2.1: se pòt emplegar damb eth clavièr e damb un lector d'ecran, e a un
            contrast sufisent. Podetz demanar atencion en lengua de signes catalana. Se trobatz
            bèra barrèra, escrivetz a atencio@gencat.example o telefonatz ath 012; vos
            responeram en un mes coma maxim.""",
            """The Government of Catalonia is committed to making this service accessible, in
            line with Royal Decree 1112/2018 and standard EN 301 549. The service meets WCAG 2.1
            level AA: it can be used with a keyboard and a screen reader, and it has sufficient
            contrast. You can ask to be attended in Catalan Sign Language. If you find any
            barrier, write to atencio@gencat.example or call 012; we will answer within one
            month.""",
        ),
    ),
    "vilanova": OrganisationText(
        name=tr(
            "Ajuntament de Vilanova i la Geltrú",
            "Ayuntamiento de Vilanova i la Geltrú",
            "Ajuntament de Vilanova i la Geltrú",
            "Vilanova i la Geltrú Town Council",
        ),
        privacy_notice=tr(
            """L'Ajuntament de Vilanova i la Geltrú tracta les vostres dades només per atendre la
            vostra consulta o el vostre tràmit. No enregistrem les videotrucades. Podeu exercir
            els vostres drets escrivint a oac@vilanova.example.""",
            """El Ayuntamiento de Vilanova i la Geltrú trata sus datos solo para atender su
            consulta o su trámite. No grabamos las videollamadas. Puede ejercer sus derechos
            escribiendo a oac@vilanova.example.""",
            """Er Ajuntament de Vilanova i la Geltrú tracte es vòstes donades sonque entà
            respóner ara vòsta consulta o entà hèr eth vòste tramit. Non enregistram es
            videotrucades. Podetz exercir es vòsti drets en escríuer a oac@vilanova.example.""",
            """Vilanova i la Geltrú Town Council processes your data only to deal with your
            enquiry or procedure. We do not record video calls. You can exercise your rights by
            writing to oac@vilanova.example.""",
        ),
        accessibility_statement=tr(
            """L'Ajuntament vol que aquest servei sigui accessible per a tothom i segueix el nivell
            AA de les WCAG 2.1. Si trobeu cap barrera, escriviu a oac@vilanova.example i us
            respondrem en un mes com a màxim.""",
            """El Ayuntamiento quiere que este servicio sea accesible para todo el mundo y sigue
            el nivel AA de las WCAG 2.1. Si encuentra alguna barrera, escriba a
            oac@vilanova.example y le responderemos en un mes como máximo.""",
            """Er Ajuntament vò qu'aguest servici sigue accessible entà toti e seguís eth nivèu AA
            des WCAG 2.1. Se trobatz bèra barrèra, escrivetz a oac@vilanova.example e vos
            responeram en un mes coma maxim.""",
            """The Town Council wants this service to be accessible to everyone and follows WCAG
            2.1 level AA. If you find any barrier, write to oac@vilanova.example and we will
            answer within one month.""",
        ),
    ),
}

OFFICE_NAMES: dict[str, Translations] = {
    "oac-girona": tr(
        "Oficina d'Atenció Ciutadana de Girona",
        "Oficina de Atención Ciudadana de Girona",
        "Oficina d'Atencion Ciutadana de Girona",
        "Girona Citizen Service Office",
    ),
    "oac-terres-de-l-ebre": tr(
        "Oficina d'Atenció Ciutadana de les Terres de l'Ebre",
        "Oficina de Atención Ciudadana de las Terres de l'Ebre",
        "Oficina d'Atencion Ciutadana des Terres de l'Ebre",
        "Terres de l'Ebre Citizen Service Office",
    ),
    "accio-social-taulat": tr(
        "Oficina d'Acció Social – Taulat",
        "Oficina de Acción Social – Taulat",
        "Oficina d'Accion Sociau – Taulat",
        "Social Action Office – Taulat",
    ),
    "politiques-digitals-arago": tr(
        "Oficina de Polítiques Digitals – Aragó",
        "Oficina de Políticas Digitales – Aragó",
        "Oficina de Politiques Digitaus – Aragó",
        "Digital Policies Office – Aragó",
    ),
    "empresa-treball-albareda": tr(
        "Oficina d'Empresa i Treball – Albareda",
        "Oficina de Empresa y Trabajo – Albareda",
        "Oficina d'Empresa e Trabalh – Albareda",
        "Business and Work Office – Albareda",
    ),
    "backoffice": tr(
        "Oficina virtual de suport",
        "Oficina virtual de apoyo",
        "Oficina virtuau de supòrt",
        "Virtual back-office",
    ),
    "oac-vilanova": tr(
        "Oficina d'Atenció Ciutadana de Vilanova i la Geltrú",
        "Oficina de Atención Ciudadana de Vilanova i la Geltrú",
        "Oficina d'Atencion Ciutadana de Vilanova i la Geltrú",
        "Vilanova i la Geltrú Citizen Service Office",
    ),
}

SERVICE_TEXTS: dict[str, ServiceText] = {
    # --- Generalitat de Catalunya ---
    "ajuts-subvencions": ServiceText(
        name=tr(
            "Informació sobre ajuts i subvencions",
            "Información sobre ayudas y subvenciones",
            "Informacion sus ajudes e subvencions",
            "Information about grants and financial aid",
        ),
        description=tr(
            """Us expliquem quins ajuts i subvencions de la Generalitat hi ha oberts ara, qui els
            pot demanar i com es presenta la sol·licitud.""",
            """Le explicamos qué ayudas y subvenciones de la Generalitat están abiertas ahora,
            quién puede pedirlas y cómo se presenta la solicitud.""",
            """Vos explicam quines ajudes e subvencions dera Generalitat son dubèrtes ara, qui
            les pòt demanar e com se presente era demanda.""",
            """We explain which Generalitat grants and aid are open now, who can apply and how to
            submit the application.""",
        ),
        documents_to_prepare=lines(
            [
                "Una idea aproximada dels ingressos de la vostra família",
                "El nom o l'enllaç de l'ajut que us interessa, si el coneixeu",
            ],
            [
                "Una idea aproximada de los ingresos de su familia",
                "El nombre o el enlace de la ayuda que le interesa, si lo conoce",
            ],
            [
                "Ua idèa aproximada des revenguts dera vòsta familha",
                "Eth nòm o eth ligam dera ajuda que vos interèsse, se ac coneishetz",
            ],
            [
                "A rough idea of your household income",
                "The name or link of the grant you are interested in, if you know it",
            ],
        ),
    ),
    "idcat-mobil": ServiceText(
        name=tr(
            "Alta a l'idCAT Mòbil",
            "Alta en idCAT Móvil",
            "Inscripcion en idCAT Mòbil",
            "Getting your idCAT Mòbil digital identity",
        ),
        description=tr(
            """Us acompanyem pas a pas mentre us doneu d'alta a l'idCAT Mòbil, la identitat
            digital de la Generalitat per fer tràmits en línia amb el mòbil.""",
            """Le acompañamos paso a paso mientras se da de alta en idCAT Móvil, la identidad
            digital de la Generalitat para hacer trámites en línea con el móvil.""",
            """Vos acompanham pas a pas mentre vos inscrivetz en idCAT Mòbil, era identitat
            digitau dera Generalitat entà hèr tramits en linha damb eth mobil.""",
            """We guide you step by step while you sign up for idCAT Mòbil, the Generalitat's
            digital identity for doing procedures online with your mobile phone.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE vigent",
                "Targeta sanitària individual (TSI)",
                "El telèfon mòbil, a mà i amb cobertura",
            ],
            [
                "DNI o NIE vigente",
                "Tarjeta sanitaria individual (TSI)",
                "El teléfono móvil, a mano y con cobertura",
            ],
            [
                "DNI o NIE en vigor",
                "Targeta sanitària individuau (TSI)",
                "Eth telefòn mobil, a man e damb cobertura",
            ],
            [
                "Valid Spanish identity card (DNI) or foreigner's identity number (NIE)",
                "Individual health card (TSI)",
                "Your mobile phone, at hand and with signal",
            ],
        ),
    ),
    "inscripcio-demandant-ocupacio": ServiceText(
        name=tr(
            "Inscripció com a demandant d'ocupació",
            "Inscripción como demandante de empleo",
            "Inscripcion coma demandaire de trabalh",
            "Registering as a job seeker",
        ),
        description=tr(
            """Un membre del personal us inscriu al Servei Públic d'Ocupació de Catalunya (SOC) i
            us explica els vostres drets i obligacions com a demandant.""",
            """Un miembro del personal le inscribe en el Servicio Público de Empleo de Cataluña
            (SOC) y le explica sus derechos y obligaciones como demandante.""",
            """Un membre deth personau vos inscriu ath Servici Public d'Ocupacion de Catalonha
            (SOC) e vos explique es vòsti drets e obligacions coma demandaire.""",
            """A member of staff registers you with the Public Employment Service of Catalonia
            (SOC) and explains your rights and duties as a job seeker.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE vigent",
                "Permís de treball, si sou de fora de la Unió Europea",
                "Número d'afiliació a la Seguretat Social",
                "Títols acadèmics i currículum (opcionals)",
            ],
            [
                "DNI o NIE vigente",
                "Permiso de trabajo, si es de fuera de la Unión Europea",
                "Número de afiliación a la Seguridad Social",
                "Títulos académicos y currículum (opcionales)",
            ],
            [
                "DNI o NIE en vigor",
                "Permís de trabalh, s'ètz de fòra dera Union Europèa",
                "Numèro d'afiliacion ara Seguretat Sociau",
                "Títols academics e curriculum (opcionaus)",
            ],
            [
                "Valid DNI or NIE",
                "Work permit, if you are from outside the European Union",
                "Social Security number",
                "Qualifications and CV (optional)",
            ],
        ),
    ),
    "grau-discapacitat-informacio": ServiceText(
        name=tr(
            "Informació sobre el certificat de grau de discapacitat",
            "Información sobre el certificado de grado de discapacidad",
            "Informacion sus eth certificat de grad de discapacitat",
            "Information about the disability degree certificate",
        ),
        description=tr(
            """Us expliquem per a què serveix el certificat, com es demana la valoració i quins
            avantatges dona, com ara descomptes en el transport públic i beneficis fiscals.""",
            """Le explicamos para qué sirve el certificado, cómo se pide la valoración y qué
            ventajas da, como descuentos en el transporte público y beneficios fiscales.""",
            """Vos explicam qué ei eth certificat, com se demane era valoracion e quini avantatges
            pòrte, coma reduccions de prètz en transpòrt public e beneficis fiscaus.""",
            """We explain what the certificate is for, how to request the assessment and what
            benefits it brings, such as public transport discounts and tax benefits.""",
        ),
        documents_to_prepare=lines(
            ["Informes mèdics recents, si voleu comentar el vostre cas"],
            ["Informes médicos recientes, si quiere comentar su caso"],
            ["Informes medicaus recents, se voletz parlar deth vòste cas"],
            ["Recent medical reports, if you want to discuss your case"],
        ),
    ),
    "prestacions-socials": ServiceText(
        name=tr(
            "Sol·licitud de prestacions socials",
            "Solicitud de prestaciones sociales",
            "Demanda de prestacions sociaus",
            "Applying for social benefits",
        ),
        description=tr(
            """Us ajudem a sol·licitar prestacions com la renda garantida de ciutadania o els ajuts
            d'urgència social, i presentem la sol·licitud per vosaltres.""",
            """Le ayudamos a solicitar prestaciones como la renta garantizada de ciudadanía o las
            ayudas de urgencia social, y presentamos la solicitud por usted.""",
            """Vos ajudam a demanar prestacions coma era renda garantida de ciutadania o es
            ajudes d'urgéncia sociau, e presentam era demanda per vosati.""",
            """We help you apply for benefits such as the guaranteed citizenship income or
            emergency social aid, and we submit the application on your behalf.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE de totes les persones que viuen al domicili",
                "Certificat d'empadronament",
                "Justificants d'ingressos de l'últim semestre",
                "Número de compte bancari (IBAN)",
            ],
            [
                "DNI o NIE de todas las personas que viven en el domicilio",
                "Certificado de empadronamiento",
                "Justificantes de ingresos del último semestre",
                "Número de cuenta bancaria (IBAN)",
            ],
            [
                "DNI o NIE de totes es persones que viuen en domicili",
                "Certificat d'empadronament",
                "Justificants de revenguts deth darrèr semèstre",
                "Numèro de compde bancari (IBAN)",
            ],
            [
                "DNI or NIE of everyone who lives at the address",
                "Certificate of municipal registration (empadronament)",
                "Proof of income for the last six months",
                "Bank account number (IBAN)",
            ],
        ),
    ),
    "creacio-empresa": ServiceText(
        name=tr(
            "Acompanyament per crear una empresa",
            "Acompañamiento para crear una empresa",
            "Acompanhament entà crear ua empresa",
            "Support to start a business",
        ),
        description=tr(
            """Us guiem mentre tramiteu l'alta com a autònom o la constitució d'una societat a
            Canal Empresa, i us indiquem quines llicències i ajuts podeu demanar.""",
            """Le guiamos mientras tramita el alta como autónomo o la constitución de una
            sociedad en Canal Empresa, y le indicamos qué licencias y ayudas puede pedir.""",
            """Vos guidam mentre tramitatz era inscripcion coma autonòm o era constitucion d'ua
            societat en Canal Empresa, e vos indicam quines licéncies e ajudes podetz
            demanar.""",
            """We guide you while you register as self-employed or set up a company through
            Canal Empresa, and tell you which licences and grants you can apply for.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE",
                "Certificat digital o idCAT Mòbil",
                "Descripció breu de l'activitat i adreça del local",
            ],
            [
                "DNI o NIE",
                "Certificado digital o idCAT Móvil",
                "Descripción breve de la actividad y dirección del local",
            ],
            [
                "DNI o NIE",
                "Certificat digitau o idCAT Mòbil",
                "Descripcion cuerta dera activitat e adreça deth locau",
            ],
            [
                "DNI or NIE",
                "Digital certificate or idCAT Mòbil",
                "A short description of the activity and the address of the premises",
            ],
        ),
    ),
    "certificat-digital": ServiceText(
        name=tr(
            "Ajuda amb el certificat digital",
            "Ayuda con el certificado digital",
            "Ajuda damb eth certificat digitau",
            "Help with your digital certificate",
        ),
        description=tr(
            """Us ajudem a instal·lar, renovar o fer servir el vostre certificat digital (idCAT,
            FNMT o DNI electrònic) quan l'ordinador o el navegador us dona problemes.""",
            """Le ayudamos a instalar, renovar o usar su certificado digital (idCAT, FNMT o DNI
            electrónico) cuando el ordenador o el navegador le da problemas.""",
            """Vos ajudam a installar, renovelar o emplegar eth vòste certificat digitau (idCAT,
            FNMT o DNI electronic) quan eth navegador vos hè problèmes.""",
            """We help you install, renew or use your digital certificate (idCAT, FNMT or
            electronic ID card) when your computer or browser gives you trouble.""",
        ),
        documents_to_prepare=lines(
            [
                "Ordinador amb connexió a internet",
                "El certificat o la targeta, i la contrasenya",
                "DNI o NIE",
            ],
            [
                "Ordenador con conexión a internet",
                "El certificado o la tarjeta, y la contraseña",
                "DNI o NIE",
            ],
            [
                "Un ordenador damb connexion a internet",
                "Eth certificat o era targeta, e era contrasenha",
                "DNI o NIE",
            ],
            [
                "A computer connected to the internet",
                "The certificate or the card, and its password",
                "DNI or NIE",
            ],
        ),
    ),
    "familia-nombrosa": ServiceText(
        name=tr(
            "Sol·licitud del carnet de família nombrosa",
            "Solicitud del carnet de familia numerosa",
            "Demanda deth carnet de familha nombrosa",
            "Applying for a large family card",
        ),
        description=tr(
            """Un membre del personal tramita per vosaltres el títol de família nombrosa o la seva
            renovació, que dona descomptes en el transport, les matrícules i les taxes.""",
            """Un miembro del personal tramita por usted el título de familia numerosa o su
            renovación, que da descuentos en el transporte, las matrículas y las tasas.""",
            """Un membre deth personau tramite per vosati eth títol de familha nombrosa o era
            sua renovacion, que pòrte reduccions en transpòrt, matricules e taxes.""",
            """A member of staff processes your large family card, or its renewal, for you; it
            gives discounts on transport, enrolment fees and public charges.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE dels progenitors i dels fills de més de 14 anys",
                "Llibre de família o certificats de naixement",
                "Certificat de convivència",
                "Sentència de separació o divorci, si escau",
            ],
            [
                "DNI o NIE de los progenitores y de los hijos mayores de 14 años",
                "Libro de familia o certificados de nacimiento",
                "Certificado de convivencia",
                "Sentencia de separación o divorcio, si procede",
            ],
            [
                "DNI o NIE des pairs e des hilhs de mès de 14 ans",
                "Libre de familha o certificats de neishement",
                "Certificat de convivéncia",
                "Sentença de separacion o divòrci, se cau",
            ],
            [
                "DNI or NIE of the parents and of any children over 14",
                "Family book or birth certificates",
                "Certificate of cohabitation",
                "Separation or divorce ruling, where applicable",
            ],
        ),
    ),
    "instancia-generica": ServiceText(
        name=tr(
            "Presentació d'una instància genèrica",
            "Presentación de una instancia genérica",
            "Presentacion d'ua instància generica",
            "Submitting a general application",
        ),
        description=tr(
            """Si el vostre tràmit no té un formulari propi, un membre del personal presenta per
            vosaltres una instància genèrica adreçada al departament que correspongui i us dona el
            justificant de registre.""",
            """Si su trámite no tiene un formulario propio, un miembro del personal presenta por
            usted una instancia genérica dirigida al departamento que corresponda y le da el
            justificante de registro.""",
            """Se eth vòste tramit non a un formulari pròpri, un membre deth personau presente
            per vosati ua instància generica ath departament que cau, e vos da eth justificant
            de registre.""",
            """If your procedure has no form of its own, a member of staff submits a general
            application to the right department on your behalf and gives you the registry
            receipt.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE",
                "El text de la sol·licitud o una explicació clara del que demaneu",
                "Els documents que vulgueu adjuntar, en PDF o en paper",
            ],
            [
                "DNI o NIE",
                "El texto de la solicitud o una explicación clara de lo que pide",
                "Los documentos que quiera adjuntar, en PDF o en papel",
            ],
            [
                "DNI o NIE",
                "Eth tèxte dera demanda o ua explicacion clara de çò que demanatz",
                "Es documents que voletz presentar, en PDF o en papèr",
            ],
            [
                "DNI or NIE",
                "The text of your application, or a clear explanation of what you are asking for",
                "Any documents you want to attach, as PDF or on paper",
            ],
        ),
    ),
    "obligacions-tributaries": ServiceText(
        name=tr(
            "Informació sobre obligacions tributàries",
            "Información sobre obligaciones tributarias",
            "Informacion sus obligacions tributàries",
            "Information about tax obligations",
        ),
        description=tr(
            """L'Agència Tributària de Catalunya us explica quins tributs us afecten (successions,
            donacions, transmissions patrimonials) i quins terminis heu de complir.""",
            """La Agència Tributària de Catalunya le explica qué tributos le afectan (sucesiones,
            donaciones, transmisiones patrimoniales) y qué plazos debe cumplir.""",
            """Era Agéncia Tributària de Catalonha vos explique quini tributs vos tòquen
            (successions, donacions, transmissions patrimoniaus) e quini terminis auetz de
            complir.""",
            """The Catalan Tax Agency explains which taxes apply to you (inheritance, gifts,
            property transfers) and the deadlines you must meet.""",
        ),
        documents_to_prepare=lines(
            ["L'escriptura o el document de l'herència, la donació o la compravenda, si el teniu"],
            ["La escritura o el documento de la herencia, donación o compraventa, si lo tiene"],
            ["Era escritura o eth document der eretatge, dera donacion o dera crompa, se l'auetz"],
            ["The deed or document of the inheritance, gift or sale, if you have it"],
        ),
    ),
    "classes-catala": ServiceText(
        name=tr(
            "Informació sobre la inscripció als cursos de català",
            "Información sobre la inscripción en los cursos de catalán",
            "Informacion sus era inscripcion as classes de catalan",
            "Information about enrolling in Catalan courses",
        ),
        description=tr(
            """Us informem dels cursos de català per a adults del Consorci per a la Normalització
            Lingüística: nivells, horaris, preus i com fer la prova de nivell.""",
            """Le informamos de los cursos de catalán para adultos del Consorci per a la
            Normalització Lingüística: niveles, horarios, precios y cómo hacer la prueba de
            nivel.""",
            """Vos informam sus es classes de catalan entà adults deth Consorci per a la
            Normalització Lingüística: nivèus, oraris, çò que còste e com hèr era pròva de
            nivèu.""",
            """We tell you about the Catalan courses for adults run by the Consortium for
            Language Standardisation: levels, timetables, prices and how to take the placement
            test.""",
        ),
        documents_to_prepare=lines(
            ["Certificats de català anteriors, si en teniu"],
            ["Certificados de catalán anteriores, si los tiene"],
            ["Certificats de catalan anteriors, se n'auetz"],
            ["Any Catalan certificates you already hold"],
        ),
    ),
    "reconeixement-dependencia": ServiceText(
        name=tr(
            "Sol·licitud de reconeixement de la situació de dependència",
            "Solicitud de reconocimiento de la situación de dependencia",
            "Demanda de reconeishement dera situacion de dependéncia",
            "Applying for recognition of dependency status",
        ),
        description=tr(
            """Presentem per vosaltres la sol·licitud perquè els serveis socials valorin el grau
            de dependència d'una persona i li reconeguin el dret a serveis i prestacions.""",
            """Presentamos por usted la solicitud para que los servicios sociales valoren el
            grado de dependencia de una persona y le reconozcan el derecho a servicios y
            prestaciones.""",
            """Presentam per vosati era demanda entà que es servicis sociaus valoren eth grad de
            dependéncia d'ua persona e li reconeishen eth dret a servicis e prestacions.""",
            """We submit, on your behalf, the application for social services to assess a
            person's degree of dependency and recognise their right to services and benefits.""",
        ),
        documents_to_prepare=lines(
            [
                "DNI o NIE de la persona sol·licitant i, si escau, del representant",
                "Informe de salut emplenat pel metge o la metgessa de capçalera",
                "Certificat d'empadronament",
                "Número de compte bancari (IBAN)",
            ],
            [
                "DNI o NIE de la persona solicitante y, si procede, del representante",
                "Informe de salud cumplimentado por el médico o la médica de cabecera",
                "Certificado de empadronamiento",
                "Número de cuenta bancaria (IBAN)",
            ],
            [
                "DNI o NIE dera persona que hè era demanda e, se cau, deth representant",
                "Informe de santat hèt peth mètge de familha",
                "Certificat d'empadronament",
                "Numèro de compde bancari (IBAN)",
            ],
            [
                "DNI or NIE of the applicant and, where applicable, of their representative",
                "Health report filled in by the family doctor",
                "Certificate of municipal registration",
                "Bank account number (IBAN)",
            ],
        ),
    ),
    # --- Ajuntament de Vilanova i la Geltrú ---
    "certificat-empadronament": ServiceText(
        name=tr(
            "Certificat d'empadronament",
            "Certificado de empadronamiento",
            "Certificat d'empadronament",
            "Certificate of municipal registration",
        ),
        description=tr(
            """Us emetem el certificat o el volant d'empadronament, individual o col·lectiu, i us
            l'enviem per correu electrònic.""",
            """Le emitimos el certificado o el volante de empadronamiento, individual o colectivo,
            y se lo enviamos por correo electrónico.""",
            """Vos emetem eth certificat o eth volant d'empadronament, individuau o collectiu, e
            vos mandam eth document per corrèu electronic.""",
            """We issue your certificate or statement of municipal registration, for you alone
            or for the whole household, and send it to you by e-mail.""",
        ),
        documents_to_prepare=lines(
            ["DNI, NIE o passaport", "Autorització signada, si el demaneu per a una altra persona"],
            ["DNI, NIE o pasaporte", "Autorización firmada, si lo pide para otra persona"],
            [
                "DNI, NIE o passapòrt",
                "Autorizacion signada, s'eth certificat ei entà ua auta persona",
            ],
            ["DNI, NIE or passport", "Signed authorisation, if you request it for someone else"],
        ),
    ),
    "ajuts-lloguer": ServiceText(
        name=tr(
            "Informació sobre ajuts al lloguer",
            "Información sobre ayudas al alquiler",
            "Informacion sus ajudes entà pagar eth loguèr",
            "Information about rent support",
        ),
        description=tr(
            """L'Oficina Local d'Habitatge us explica els ajuts per pagar el lloguer, els
            requisits d'ingressos i els terminis de la convocatòria.""",
            """La Oficina Local de Vivienda le explica las ayudas para pagar el alquiler, los
            requisitos de ingresos y los plazos de la convocatoria.""",
            """Era Oficina Locau d'Abitatge vos explique es ajudes entà pagar eth loguèr, es
            condicions de revenguts e es terminis dera convocatòria.""",
            """The Local Housing Office explains the support for paying the rent, the income
            requirements and the deadlines of the call.""",
        ),
        documents_to_prepare=lines(
            ["Contracte de lloguer", "Declaració de la renda de l'últim any, si la teniu"],
            ["Contrato de alquiler", "Declaración de la renta del último año, si la tiene"],
            ["Contracte de loguèr", "Declaracion dera renda deth darrèr an, se l'auetz"],
            ["Rental contract", "Last year's income tax return, if you have it"],
        ),
    ),
    "obres-menors": ServiceText(
        name=tr(
            "Comunicació prèvia d'obres menors",
            "Comunicación previa de obras menores",
            "Comunicacion prealabla d'òbres menors",
            "Prior notice of minor building works",
        ),
        description=tr(
            """Us guiem mentre presenteu en línia la comunicació prèvia per fer obres petites a
            casa, com canviar el paviment o reformar la cuina o el bany.""",
            """Le guiamos mientras presenta en línea la comunicación previa para hacer obras
            pequeñas en casa, como cambiar el pavimento o reformar la cocina o el baño.""",
            """Vos guidam mentre presentatz en linha era comunicacion prealabla entà hèr petites
            òbres en casa, coma cambiar eth sòl o reformar era codina o eth banh.""",
            """We guide you while you submit online the prior notice for small works at home,
            such as replacing the floor or refurbishing the kitchen or bathroom.""",
        ),
        documents_to_prepare=lines(
            [
                "Certificat digital o idCAT Mòbil",
                "Pressupost de l'obra",
                "Fotografies de l'estat actual",
            ],
            [
                "Certificado digital o idCAT Móvil",
                "Presupuesto de la obra",
                "Fotografías del estado actual",
            ],
            [
                "Certificat digitau o idCAT Mòbil",
                "Pressupòst dera òbra",
                "Fotografies der estat actuau",
            ],
            [
                "Digital certificate or idCAT Mòbil",
                "Quote for the works",
                "Photographs of the current state",
            ],
        ),
    ),
}
