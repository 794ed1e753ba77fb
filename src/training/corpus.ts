// A small English corpus embedded in the package, so that synthetic text lines need no download:
// common words (by rough frequency class, written for this project), names, places, and short
// sentences of the kind found on printed pages, forms, receipts and letters.

const COMMON = `
the of and to in is was for on that with as by at from it be this are or an have not had but
which all were they one their has more been can also new first two its other time would will
people after into up out about most over only than some may many years world these city year
three when who part used known she her him his them made such during between under state well
then where could there our before through where while since because back both each still last
under found later around work life same what way even make like long day early being both best
next high four down good great last small large public place name house water family power part
end group main number area national set old left right local often however much off based
general order among government several service home country game top system line built form
school death five show film town west east north south half open free full land major paper
black white red blue green yellow brown gray orange purple light dark clear plain simple short
final total price order invoice receipt amount date time page note item quantity unit account
number phone email address street road avenue lane drive court square park place office room
floor building center market store shop bank hotel station airport hospital library museum
church bridge river lake hill valley forest garden field farm village road track coast island
letter report record table chart figure section chapter volume issue edition article story
book title author editor reader writer teacher student doctor nurse driver worker manager
member customer client guest visitor owner partner friend brother sister mother father child
children woman man women men girl boy person people team staff board council committee club
company business industry market trade product service price cost value sale sales tax fee
payment balance credit debit cash check card transfer deposit loan rate interest profit loss
morning evening night today tomorrow yesterday week month year season spring summer autumn winter
monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december hour minute second moment period history future
read write speak listen learn teach study carry bring take give keep hold turn move stop start
begin finish open close call answer ask tell say think know feel seem look watch see hear find
lose win play run walk drive ride fly swim climb fall rise grow change help need want like love
live stay leave arrive return follow lead meet join send receive buy sell pay spend save count
measure check test print sign fill mark wait hope try use cut build break fix clean wash cook
eat drink sleep wake dress travel visit plan choose decide agree allow offer provide include
happy quick slow fast careful quiet loud warm cold hot cool dry wet soft hard strong weak heavy
thin thick wide narrow deep empty fresh rich poor cheap early late young old modern ancient
real true false main central special common private personal human natural social political
certain possible important different similar available recent current former single double
daily weekly monthly annual regular standard basic extra ready sure able likely free busy
bread milk butter cheese coffee tea sugar salt apple orange lemon potato tomato onion rice
chicken fish beef soup salad cake cookie juice wine beer water dinner lunch breakfast meal
table chair desk door window wall roof floor stairs kitchen bedroom bathroom garage yard fence
car bus train plane ship boat bicycle truck taxi ticket seat gate platform road map route
box bag bottle cup glass plate bowl knife fork spoon pen pencil paper envelope stamp parcel
shirt coat jacket hat shoe boots dress skirt scarf gloves watch ring key lock phone camera
machine engine motor battery cable wire screen button switch lamp light clock radio computer
data file folder document copy version update message signal network server program code
question answer problem reason result example method process research science art music
picture photo image color shape size weight height length distance speed level degree point
health medicine care safety risk danger fire police court law rule right duty tax vote
energy oil gas coal wind solar heat air earth stone wood metal iron steel gold silver glass
animal dog cat horse bird cow sheep tree flower grass leaf seed fruit plant rain snow sun moon
star sky cloud storm wave sea ocean beach sand rock mountain desert forest field
welcome thank please sorry hello goodbye yes no okay
`;

/** First names, surnames, places: proper nouns are frequent in printed lines. */
const NAMES = `
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Margaret Mark
Sandra Paul Ashley Steven Emily Andrew Donna Kevin Michelle Brian Carol George Amanda Edward
Helen Oliver Sophie Henry Grace Lucas Emma Noah Olivia Leo Chloe Hugo Alice Oscar Isabel
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Wilson Anderson Taylor
Thomas Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen
King Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell
Parker Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Ward
London Paris Berlin Madrid Rome Vienna Dublin Oslo Boston Chicago Denver Seattle Austin Dallas
Toronto Sydney Melbourne Auckland Chester Oxford Cambridge York Bristol Leeds Glasgow Cardiff
Springfield Riverside Fairview Georgetown Franklin Greenville Kingston Salem Madison Clinton
`;

/** Short sentences and phrases, written for this corpus, as they might appear on a page. */
const SENTENCES = [
  'Please keep this receipt for your records.',
  'Thank you for shopping with us!',
  'The meeting has been moved to Thursday.',
  'All prices include sales tax.',
  'Payment is due within thirty days.',
  'Do not write below this line.',
  'See page twelve for more details.',
  'The library closes at six on Fridays.',
  'Returns are accepted with proof of purchase.',
  'Fill in the form using block capitals.',
  'Our office will be closed on Monday.',
  'The train to Boston leaves at noon.',
  'Keep out of reach of children.',
  'Store in a cool, dry place.',
  'Handle with care: fragile contents.',
  'This side up.',
  'Not valid without a signature.',
  'Signed in the presence of a witness.',
  'The results are shown in Table 3.',
  'Turn left at the second light.',
  'We look forward to hearing from you.',
  'Yours sincerely,',
  'Dear Mr. Walker,',
  'Best regards, Emma',
  'Minutes of the annual general meeting',
  'Chapter One: The Long Road Home',
  'It was a bright, cold day in April.',
  'The quick brown fox jumps over the lazy dog.',
  'She sells sea shells by the sea shore.',
  'Every good boy deserves fruit.',
  'Remember to back up your files.',
  'Cash or card?',
  'Have a nice day!',
  'Subject to change without notice.',
  'For external use only.',
  'Batteries not included.',
  'Printed on recycled paper.',
  'Admit one. No re-entry.',
  'Please ring the bell for service.',
  'The museum is open daily from 9 to 5.',
  'Check-in opens two hours before departure.',
  'Refer to the attached schedule.',
  'Estimated delivery in 3-5 business days.',
  'Seats are not reserved.',
  'Serves four people.',
  'Bake for 25 minutes until golden.',
  "Don't forget your umbrella.",
  "It's a long way to the top.",
  'What time does the shop open?',
  'Why not try something new?',
];

function words(block: string): string[] {
  return [...new Set(block.split(/\s+/).filter((w) => w.length > 0))];
}

export const COMMON_WORDS: readonly string[] = words(COMMON);
export const PROPER_NAMES: readonly string[] = words(NAMES);
export const SHORT_SENTENCES: readonly string[] = SENTENCES;
export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;
export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export const STREET_TYPES = ['Street', 'St.', 'Road', 'Rd.', 'Avenue', 'Ave.', 'Lane', 'Drive', 'Dr.', 'Court', 'Place', 'Way', 'Boulevard', 'Blvd.'] as const;
export const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'shop.example.co.uk', 'test.example.io'] as const;
